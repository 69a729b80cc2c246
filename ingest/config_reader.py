"""Reading a connector config's keys one by one: defaults, integers, choices and booleans checked, so a bad value
names its key and what is allowed, and the keys left unread at the end are the unknown ones."""

from __future__ import annotations

from ingest.errors import ConfigError


class ConfigReader:
    """Takes keys out of the raw config one by one, so what is left at the end is unknown."""

    def __init__(self, raw: dict[str, object]):
        self.raw = {k: str(v) if not isinstance(v, str) else v for k, v in raw.items()}
        self.used: set[str] = set()

    def get(self, key: str, default: str | None = None) -> str | None:
        self.used.add(key)
        value = self.raw.get(key)
        return default if value is None or value.strip() == "" else value.strip()

    def required(self, key: str, allowed: str) -> str:
        value = self.get(key)
        if value is None:
            raise ConfigError(key, None, allowed)
        return value

    def integer(self, key: str, default: int | None, minimum: int, allowed: str | None = None,
                off: int | None = -1) -> int:
        """An integer >= `minimum`, or `off` (-1: the connector's "disabled"; None for a key without one)."""
        raw = self.get(key)
        if raw is None:
            if default is None:
                raise ConfigError(key, None, allowed or f"an integer >= {minimum}")
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(key, raw, allowed or f"an integer >= {minimum}") from None
        if value < minimum and value != off:
            raise ConfigError(key, raw, allowed or f"an integer >= {minimum}")
        return value

    def choice(self, key: str, default: str, allowed: dict[str, str] | tuple[str, ...]) -> str:
        value = self.get(key, default)
        names = dict(allowed) if isinstance(allowed, dict) else {v: v for v in allowed}
        # Confluent's class names are long; the simple class name (e.g. "HourlyPartitioner") is accepted too.
        by_short = {k.rsplit(".", 1)[-1]: v for k, v in names.items()}
        if value in names:
            return names[value]
        if value in by_short:
            return by_short[value]
        raise ConfigError(key, value, ", ".join(names))

    def boolean(self, key: str, default: bool) -> bool:
        value = self.get(key, str(default).lower()).lower()
        if value not in ("true", "false"):
            raise ConfigError(key, value, "true, false")
        return value == "true"
