"""Pure: where the open files of one Kafka partition close, by Confluent's rules.

All files open for a Kafka partition close together (Confluent's `commitFiles`), when
- `flush.size` records have been written since they opened (counted over all of them), or
- `rotate.interval.ms` is set and a record's time is that far past the first record's, or
- `rotate.schedule.interval.ms` is set and the wall clock passed the next aligned boundary (checked by
  the caller between batches, also when no records come).
With `sluice.rotation=confluent`, also when `rotate.interval.ms` is set and a record belongs to another encoded
partition than the one before it: Confluent's rule, which out-of-order records near an hour boundary turn into a
file every few records (they alternate hours). By default Sluice keeps one file per encoded partition open
instead, so such records join the open file of their hour.
The first two depend on the records only, so a replay from the committed offset closes files at the same
records and rewrites the same keys with the same content.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RoundState:
    """What rotation needs to know about the files open right now."""

    count: int = 0  # records written since the files opened
    base_time: int | None = None  # record time of the first of them
    current_code: int | None = None  # encoded partition of the last one
    next_scheduled: int | None = None  # wall-clock ms at which a scheduled rotation is due


def next_cut(
    times: np.ndarray, codes: np.ndarray, start: int, state: RoundState, flush_size: int, rotate_interval_ms: int,
    on_partition_change: bool = False,
) -> tuple[int, str | None]:
    """Scan records[start:]; return (cut, why): records [start, cut) join the open files, then they close.

    why is "size" (the record before cut filled the files), "time" (the record at cut must go in new
    files) or None (no rotation in this batch: cut == len(times)).
    """
    n = len(times)
    if start >= n:
        return n, None
    size_cut = start + (flush_size - state.count)
    time_cut = n
    if rotate_interval_ms > 0:
        base = state.base_time if state.count else times[start]
        # Time rotation follows the base of the open files; once they close the next record is a new base,
        # so only the first violation in this scan matters.
        violations = (times[start:] - base) >= rotate_interval_ms
        if on_partition_change:
            first_prev = state.current_code if state.count else codes[start]
            prev = np.concatenate(([first_prev], codes[start : n - 1])).astype(codes.dtype)
            violations |= codes[start:] != prev
        if not state.count:
            violations[0] = False  # the first record of new files never rotates them
        hits = np.flatnonzero(violations)
        if hits.size:
            time_cut = start + int(hits[0])
    if size_cut <= time_cut and size_cut <= n:
        return size_cut, "size"
    if time_cut < n:
        return time_cut, "time"
    return n, None


def advance(state: RoundState, times: np.ndarray, codes: np.ndarray, start: int, cut: int) -> None:
    """Account for records [start, cut) joining the open files."""
    if cut <= start:
        return
    if not state.count:
        state.base_time = int(times[start])
    state.count += cut - start
    state.current_code = int(codes[cut - 1])


def next_aligned(now_ms: int, interval_ms: int) -> int:
    """The next wall-clock boundary of `interval_ms` after `now_ms` (Confluent aligns scheduled rotation)."""
    return (now_ms // interval_ms + 1) * interval_ms
