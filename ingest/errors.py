"""Sluice's ingest errors: one base class; each subclass keeps what went wrong as attributes."""

from __future__ import annotations


class SluiceError(Exception):
    """Base of every error Sluice raises on purpose."""


class ConfigError(SluiceError):
    """A connector config key is missing or has a value Sluice cannot use."""

    def __init__(self, key: str, value: object, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        shown = "missing" if value is None else f"{value!r}"
        super().__init__(f"config key '{key}': {shown}; allowed: {allowed}")


class SinkStopped(SluiceError):
    """errors.tolerance=none met a bad record: the sink stops, committing nothing past it."""

    def __init__(self, topic: str, partition: int, offset: int, reason: str):
        self.topic, self.partition, self.offset, self.reason = topic, partition, offset, reason
        super().__init__(
            f"bad record at {topic}[{partition}]@{offset}: {reason} (errors.tolerance=none: stopping; "
            f"offsets committed up to the last uploaded file, set errors.tolerance=all to dead-letter instead)"
        )


class CommitFailed(SluiceError):
    """A round could not be committed (the group moved on, the broker is away, the transaction aborted): the task
    drops what it holds and resumes from the committed offsets, which rebuilds the same files."""

    def __init__(self, what: str, reason: str):
        self.what, self.reason = what, reason
        super().__init__(f"{what}: {reason}")
