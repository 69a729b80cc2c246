"""The completeness watermark: per topic and Kafka partition, what the sink has committed and up to when.

After each commit the sink writes `_sluice/<connector>/watermarks/<topic>/<partition>.json`:
the committed offset and `complete_until`, the record time before which this partition will send no more
records to the lake (the newest committed record time, or the wall clock when the partition has no lag,
minus `sluice.watermark.lateness.ms`). It never moves backwards. An hour is complete when every partition's
`complete_until` is at or past the hour's end. The document is `ingest.ledger.watermark.Watermark`.
"""

from __future__ import annotations

from ingest.ledger.keys import watermark_key
from ingest.ledger.watermark import Watermark


def next_watermark(
    previous: int | None, max_record_ms: int | None, caught_up: bool, now_ms: int, lateness_ms: int
) -> int | None:
    """The new `complete_until` in epoch ms, never before `previous`."""
    candidates = [c for c in (previous, max_record_ms and max_record_ms - lateness_ms) if c is not None]
    if caught_up:
        candidates.append(now_ms - lateness_ms)
    return max(candidates) if candidates else None


class Watermarks:
    """A task's watermarks: advanced after every commit, written to S3 at most once per interval per partition."""

    def __init__(self, storage, connector: str, lateness_ms: int, interval_ms: int, clock_ms):
        self.storage, self.connector = storage, connector
        self.lateness_ms, self.interval_ms, self.clock_ms = lateness_ms, interval_ms, clock_ms
        self.values: dict[tuple[str, int], int | None] = {}  # complete_until_ms per partition
        self.pending: dict[tuple[str, int], Watermark] = {}  # committed, not yet written to S3
        self.written: dict[tuple[str, int], int] = {}  # wall ms of the last write

    def advance(self, key: tuple[str, int], offset: int, end: int | None, max_record_ms: int | None) -> None:
        """After a commit of `offset` (`end`: the partition's high watermark, if known)."""
        if key not in self.values:  # another owner may have moved it on: read it back, never move it back
            name = watermark_key(self.connector, *key)
            previous = self.storage.get_json(name)
            self.values[key] = None if previous is None else Watermark.from_json(name, previous).complete_until_ms
        now = self.clock_ms()
        complete = next_watermark(self.values[key], max_record_ms, end is not None and offset >= end, now,
                                  self.lateness_ms)
        self.values[key] = complete
        self.pending[key] = Watermark.at(self.connector, *key, offset, end, max_record_ms, complete, now)
        self.flush(only=key)

    def flush(self, force: bool = False, only: tuple[str, int] | None = None) -> None:
        now = self.clock_ms()
        for key in [only] if only is not None else list(self.pending):
            if key in self.pending and (force or now - self.written.get(key, 0) >= self.interval_ms):
                mark = self.pending.pop(key)
                self.storage.put_json(mark.key, mark.to_json())
                self.written[key] = now

    def forget(self, key: tuple[str, int]) -> None:
        """A partition lost to another owner: its newer watermarks are the new owner's to write."""
        self.pending.pop(key, None)
        self.values.pop(key, None)
