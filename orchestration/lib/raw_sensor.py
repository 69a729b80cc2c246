"""The raw-zone sensor's decisions, apart from Dagster: where to look, which hours to run, the next cursor.

The cursor is `{"next": <first hour not yet complete>, "seen": {<hour key>: <digest of its files>}}`. A tick
re-reads the hours from `next` minus LOOKBACK (late files), runs every complete hour whose digest changed,
and moves `next` to the first incomplete hour (else past the latest hour seen).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from orchestration.lib.windows import HOUR, partition_key, partition_start

LOOKBACK = dt.timedelta(hours=6)  # hours behind the cursor re-checked for late files
GRACE = dt.timedelta(minutes=10)  # without a watermark, an hour counts as complete this long after its end
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class HourRun:
    key: str  # the partition key
    digest: str  # of the hour's files: part of the run key, so new files mean a new run
    files: int

    @property
    def run_key(self) -> str:
        return f"{self.key}:{self.digest}"


@dataclass
class Tick:
    runs: list[HourRun] = field(default_factory=list)
    cursor: str | None = None  # None: keep the cursor as it is


def scan_from(cursor: str | None) -> dt.datetime:
    """The first hour a tick lists: LOOKBACK before the cursor's open hour, or everything on the first tick."""
    state = json.loads(cursor) if cursor else {}
    return partition_start(state["next"]) - LOOKBACK if "next" in state else EPOCH


def is_complete(hour: dt.datetime, watermark: dt.datetime | None, now: dt.datetime) -> bool:
    """The sink's watermark is past the hour's end, or the grace period after it has passed."""
    return (watermark is not None and watermark >= hour + HOUR) or now >= hour + HOUR + GRACE


def plan_tick(cursor: str | None, hours: list[dt.datetime], watermark: dt.datetime | None, now: dt.datetime,
              fingerprint: Callable[[dt.datetime], tuple[str, int]]) -> Tick:
    """`hours`: those listed from `scan_from(cursor)`, ascending; `fingerprint(hour)` -> (digest, file count)."""
    state = json.loads(cursor) if cursor else {}
    seen: dict[str, str] = dict(state.get("seen", {}))
    tick, next_open = Tick(), None
    for hour in hours:
        key = partition_key(hour)
        if not is_complete(hour, watermark, now):
            next_open = next_open or key
            continue
        digest, files = fingerprint(hour)
        if seen.get(key) != digest:
            seen[key] = digest
            tick.runs.append(HourRun(key, digest, files))
    latest = max((partition_start(k) for k in seen), default=None)
    cursor_hour = partition_start(next_open) if next_open else (latest + HOUR if latest else None)
    if cursor_hour is not None:
        keep = {k: v for k, v in seen.items() if partition_start(k) >= cursor_hour - LOOKBACK}
        tick.cursor = json.dumps({"next": partition_key(cursor_hour), "seen": keep})
    return tick
