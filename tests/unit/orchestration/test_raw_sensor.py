"""The raw-zone sensor's decisions over the commit ledger: committed rounds read once, UTC hours from event
times, late rounds re-running exactly their hours, rounds in flight left for the next tick."""

import datetime as dt
import json

from ingest.ledger.manifest import FileEntry, Manifest
from orchestration.lib.raw_sensor import is_complete, plan_tick, read_cursor

FIRST = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def at(hour: int, minute: int = 0, day: int = 15) -> dt.datetime:
    return dt.datetime(2024, 1, day, hour, minute, tzinfo=dt.UTC)


def manifest(partition: int, start: int, end: int, *spans: tuple[str, str]) -> Manifest:
    files = tuple(FileEntry(f"f{start}-{i}", "e", partition, start, start, 1, 1, lo, hi)
                  for i, (lo, hi) in enumerate(spans))
    return Manifest(f"ledger/{partition:05d}/{start:020d}.json", "s3-sink", "events", partition, start, end,
                    len(files), files)


def keys(tick) -> list[str]:
    return [r.key for r in tick.runs]


def test_an_hour_is_complete_by_watermark_or_after_the_grace_period():
    assert is_complete(at(9), watermark=at(10), now=at(10, 1))
    assert not is_complete(at(9), watermark=at(9, 59), now=at(10, 9))
    assert is_complete(at(9), watermark=None, now=at(10, 10))


def test_a_files_hours_run_from_its_first_to_its_last_event_time_in_utc():
    m = manifest(0, 0, 10, ("2024-01-15T09:59:00.000Z", "2024-01-15T12:00:00.000Z"),
                 ("2024-01-15T14:30:00.000+02:00", "2024-01-15T12:40:00.000Z"), (None, None))
    assert m.hours == [at(9), at(10), at(11), at(12)]


def test_committed_rounds_run_their_complete_hours_and_the_cursor_remembers_the_rest():
    rounds = {0: [manifest(0, 0, 5, ("2024-01-15T09:10:00Z", "2024-01-15T10:05:00Z"))],
              1: [manifest(1, 0, 7, ("2024-01-15T11:00:00Z", "2024-01-15T11:30:00Z"))]}
    tick = plan_tick(None, rounds, {0: 5, 1: 7}, watermark=at(11), now=at(11, 5), first_hour=FIRST)
    assert keys(tick) == ["2024-01-15-09:00", "2024-01-15-10:00"]
    read, pending = read_cursor(tick.cursor)
    assert read == {"0": rounds[0][0].key, "1": rounds[1][0].key}
    assert list(pending) == ["2024-01-15-11:00"]  # not complete yet: waits in the cursor

    later = plan_tick(tick.cursor, {0: [], 1: []}, {0: 5, 1: 7}, watermark=at(12), now=at(12), first_hour=FIRST)
    assert keys(later) == ["2024-01-15-11:00"]
    assert read_cursor(later.cursor)[1] == {}


def test_a_late_round_reruns_exactly_its_hours_with_a_new_run_key_however_old_they_are():
    first = plan_tick(None, {0: [manifest(0, 0, 5, ("2024-01-15T09:10:00Z", "2024-01-15T10:05:00Z"))]}, {0: 5},
                      watermark=at(12), now=at(12), first_hour=FIRST)
    late = plan_tick(first.cursor, {0: [manifest(0, 5, 6, ("2024-01-12T03:00:00Z", "2024-01-12T03:00:00Z"),
                                                 ("2024-01-15T10:20:00Z", "2024-01-15T10:20:00Z"))]}, {0: 6},
                     watermark=at(12), now=at(12), first_hour=FIRST)
    assert keys(late) == ["2024-01-12-03:00", "2024-01-15-10:00"]
    assert late.runs[1].run_key not in {r.run_key for r in first.runs}
    assert plan_tick(late.cursor, {0: []}, {0: 6}, at(12), at(12), FIRST).runs == []


def test_a_round_not_yet_committed_is_left_for_the_next_tick():
    rounds = [manifest(0, 0, 5, ("2024-01-15T09:10:00Z", "2024-01-15T09:20:00Z")),
              manifest(0, 5, 9, ("2024-01-15T10:10:00Z", "2024-01-15T10:20:00Z"))]
    tick = plan_tick(None, {0: rounds}, {0: 5}, watermark=at(12), now=at(12), first_hour=FIRST)
    assert keys(tick) == ["2024-01-15-09:00"] and tick.accepted == 1
    assert read_cursor(tick.cursor)[0] == {"0": rounds[0].key}
    assert plan_tick(None, {0: rounds}, {}, at(12), at(12), FIRST).runs == []  # no watermark: nothing committed


def test_hours_before_the_partitions_start_are_reported_not_run():
    tick = plan_tick(None, {0: [manifest(0, 0, 1, ("2023-12-31T23:30:00Z", "2024-01-01T00:10:00Z"))]}, {0: 1},
                     watermark=at(12), now=at(12), first_hour=FIRST)
    assert keys(tick) == ["2024-01-01-00:00"] and tick.outside == ["2023-12-31-23:00"]


def test_a_cursor_of_the_directory_walking_sensor_starts_over():
    assert read_cursor(json.dumps({"next": "2024-01-15-10:00", "seen": {}})) == ({}, {})
