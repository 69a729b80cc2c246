"""The raw-zone sensor's decisions, apart from Dagster: follow the sink's commit ledger from a cursor, note the
UTC hours each committed round's files cover (by event time, whatever the sink's path layout), and run each hour
once it is complete.

The cursor is `{"v": 2, "read": {<kafka partition>: <last manifest key accepted>}, "pending": {<hour key>:
<token>}}`. A tick reads each partition's manifests after its key (`StartAfter`: the cost is what is new, however
old the data in it), accepts them in order while their round is committed (`commit_offset` at or below the
committed offset in the partition's watermark), and folds each accepted manifest into the token of every hour its
files span. A complete hour runs with run key `<hour>:<token>`, and leaves `pending`: new data for it later makes
a new token, so a late round re-runs exactly its hours. A failed run is retried by Dagster's run retries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from ingest.ledger.manifest import Manifest
from orchestration.lib.windows import HOUR, partition_key, partition_start

GRACE = dt.timedelta(minutes=10)  # without a watermark, an hour counts as complete this long after its end
CURSOR_VERSION = 2


@dataclass(frozen=True)
class HourRun:
    key: str  # the partition key
    token: str  # of the committed rounds that touched the hour since it last ran

    @property
    def run_key(self) -> str:
        return f"{self.key}:{self.token}"


@dataclass
class Tick:
    runs: list[HourRun] = field(default_factory=list)
    cursor: str | None = None
    accepted: int = 0  # manifests read and accepted this tick
    outside: list[str] = field(default_factory=list)  # hours before the partitions start: never run


def read_cursor(cursor: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(last manifest key per Kafka partition, pending hour tokens); an older cursor starts over."""
    state = json.loads(cursor) if cursor else {}
    if state.get("v") != CURSOR_VERSION:
        return {}, {}
    return dict(state.get("read", {})), dict(state.get("pending", {}))


def is_complete(hour: dt.datetime, watermark: dt.datetime | None, now: dt.datetime) -> bool:
    """The sink's watermark is past the hour's end, or the grace period after it has passed."""
    return (watermark is not None and watermark >= hour + HOUR) or now >= hour + HOUR + GRACE


def plan_tick(cursor: str | None, new: dict[int, list[Manifest]], committed: dict[int, int | None],
              watermark: dt.datetime | None, now: dt.datetime, first_hour: dt.datetime) -> Tick:
    """`new`: each Kafka partition's manifests after the cursor's key, in offset order; `committed`: each
    partition's committed offset (from its watermark). Hours before `first_hour` are reported, never run."""
    read, pending = read_cursor(cursor)
    tick = Tick()
    for partition, manifests in sorted(new.items()):
        for manifest in manifests:
            offset = committed.get(partition)
            if offset is None or manifest.commit_offset > offset:
                break  # in flight (a replay may still rewrite it): read it again next tick
            for hour in manifest.hours:
                key = partition_key(hour)
                if hour < first_hour:
                    tick.outside.append(key)
                    continue
                seed = f"{pending.get(key, '')}|{manifest.key}@{manifest.commit_offset}"
                pending[key] = hashlib.sha256(seed.encode()).hexdigest()[:16]
            read[str(partition)] = manifest.key
            tick.accepted += 1
    for key in sorted(pending):
        if is_complete(partition_start(key), watermark, now):
            tick.runs.append(HourRun(key, pending.pop(key)))
    tick.cursor = json.dumps({"v": CURSOR_VERSION, "read": read, "pending": pending}, sort_keys=True)
    return tick
