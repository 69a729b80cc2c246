"""One Kafka partition: its open files (one per encoded partition), when they close, and what to commit.

Mirrors Confluent's TopicPartitionWriter. Good rows arrive in offset order with their record times and
encoded partitions; `add` returns the rounds of files that closed, each with the offset that becomes safe
to commit once its files are uploaded. Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ingest.sink.rotation import RoundState, advance, next_aligned, next_cut


@dataclass(frozen=True)
class ClosedFile:
    encoded: str
    start_offset: int
    table: pa.Table


@dataclass(frozen=True)
class ClosedRound:
    files: list[ClosedFile]
    commit_offset: int  # every record below it is in these files, earlier rounds or the DLQ
    max_record_ms: int
    reason: str


class PartitionWriter:
    def __init__(self, topic: str, partition: int, flush_size: int, rotate_interval_ms: int,
                 rotate_schedule_interval_ms: int, rotate_on_partition_change: bool = False):
        self.topic, self.partition = topic, partition
        self.rotate_on_partition_change = rotate_on_partition_change  # sluice.rotation=confluent
        self.flush_size = flush_size
        self.rotate_interval_ms = rotate_interval_ms
        self.rotate_schedule_interval_ms = rotate_schedule_interval_ms
        self.state = RoundState()
        self._ids: dict[str, int] = {}  # encoded partition -> stable code across batches
        self._names: list[str] = []
        self._open: dict[int, list[pa.Table]] = {}
        self._start: dict[int, int] = {}
        self._max_ms: int | None = None
        self.next_offset: int | None = None  # the offset after the last record seen
        self.committed: int | None = None  # the last offset committed by this writer

    @property
    def has_open_files(self) -> bool:
        return self.state.count > 0

    def _code(self, encoded: str) -> int:
        if encoded not in self._ids:
            self._ids[encoded] = len(self._names)
            self._names.append(encoded)
        return self._ids[encoded]

    def _stable(self, codes: np.ndarray, encodings: list[str]) -> np.ndarray:
        """Batch-local codes -> codes stable across batches (rotation compares them with earlier records)."""
        return np.array([self._code(e) for e in encodings], dtype=np.int64)[codes]

    def add(self, rows: pa.Table, offsets: np.ndarray, times_ms: np.ndarray, codes: np.ndarray,
            encodings: list[str], batch_end_offset: int, now_ms: int) -> list[ClosedRound]:
        """Take good rows (in offset order) of a batch that ends before `batch_end_offset`."""
        stable = self._stable(codes, encodings)
        closed: list[ClosedRound] = []
        n, start = rows.num_rows, 0
        while start < n:
            cut, why = next_cut(times_ms, stable, start, self.state, self.flush_size, self.rotate_interval_ms,
                                self.rotate_on_partition_change)
            self._append(rows, offsets, times_ms, stable, start, cut, now_ms)
            if why is not None:
                commit = int(offsets[cut]) if cut < n else batch_end_offset
                closed.append(self._close(commit, why))
            start = cut
        self.next_offset = batch_end_offset
        return closed

    def _append(self, rows, offsets, times_ms, stable, start, cut, now_ms) -> None:
        if cut <= start:
            return
        if not self.state.count and self.rotate_schedule_interval_ms > 0:
            self.state.next_scheduled = next_aligned(now_ms, self.rotate_schedule_interval_ms)
        part_codes = stable[start:cut]
        for code in np.unique(part_codes):
            idx = np.flatnonzero(part_codes == code) + start
            if code not in self._open:
                self._open[code], self._start[code] = [], int(offsets[idx[0]])
            self._open[code].append(rows.take(pa.array(idx)))
        window_max = int(times_ms[start:cut].max())
        self._max_ms = window_max if self._max_ms is None else max(self._max_ms, window_max)
        advance(self.state, times_ms, stable, start, cut)

    def _close(self, commit_offset: int, reason: str) -> ClosedRound:
        files = [
            ClosedFile(self._names[code], self._start[code], pa.concat_tables(parts))
            for code, parts in sorted(self._open.items(), key=lambda item: self._start[item[0]])
        ]
        closed = ClosedRound(files, commit_offset, self._max_ms, reason)
        self._open, self._start, self._max_ms = {}, {}, None
        self.state = RoundState()
        return closed

    def scheduled_due(self, now_ms: int) -> bool:
        """rotate.schedule.interval.ms: open files whose wall-clock boundary has passed (idle partitions too)."""
        return self.has_open_files and self.state.next_scheduled is not None and now_ms >= self.state.next_scheduled

    def close_now(self, reason: str) -> ClosedRound | None:
        """Close the open files at once (schedule, shutdown); the commit covers all records seen."""
        if not self.has_open_files:
            return None
        return self._close(self.next_offset, reason)
