"""The completeness watermark: per topic and Kafka partition, what the sink has committed and up to when.

After each commit the sink writes `_sluice/<connector>/watermarks/<topic>/<partition>.json`:
the committed offset and `complete_until`, the record time before which this partition will send no more
records to the lake (the newest committed record time, or the wall clock when the partition has no lag,
minus `sluice.watermark.lateness.ms`). It never moves backwards. An hour is complete when every partition's
`complete_until` is at or past the hour's end.
"""

from __future__ import annotations

from ingest.timefmt import iso_millis


def iso(ms: int | None) -> str | None:
    return None if ms is None else iso_millis(ms)


def next_watermark(
    previous: int | None, max_record_ms: int | None, caught_up: bool, now_ms: int, lateness_ms: int
) -> int | None:
    """The new `complete_until` in epoch ms, never before `previous`."""
    candidates = [c for c in (previous, max_record_ms and max_record_ms - lateness_ms) if c is not None]
    if caught_up:
        candidates.append(now_ms - lateness_ms)
    return max(candidates) if candidates else None


def watermark_document(
    connector: str, topic: str, partition: int, committed_offset: int, end_offset: int | None,
    max_record_ms: int | None, complete_until_ms: int | None, now_ms: int,
) -> dict:
    return {
        "connector": connector, "topic": topic, "partition": partition,
        "committed_offset": committed_offset, "end_offset": end_offset,
        "lag": None if end_offset is None else max(end_offset - committed_offset, 0),
        "max_record_time": iso(max_record_ms), "complete_until": iso(complete_until_ms),
        "complete_until_ms": complete_until_ms, "updated_at": iso(now_ms),
    }
