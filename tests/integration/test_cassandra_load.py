"""Loading windows of the curated marts into the local Cassandra, called directly: TTL, the run's write version,
the window replaced (rows the mart no longer has deleted), rows outside the window untouched, the latest run
winning whatever order runs finish in."""

import datetime as dt
import itertools
import uuid
from decimal import Decimal

import pyarrow as pa
import pytest

from ingest.cassandra_client import consistency_level
from ingest.lake.curated import mart_rows
from ingest.lake.keys import curated_key
from ingest.serving.load import (
    LoadResult,
    ensure_counts_table,
    ensure_events_table,
    load_counts_window,
    load_events_window,
    window_ids,
)
from ingest.serving.mapping import TableMapping
from ingest.sink.writer import parquet_bytes

TTL = 7 * 86_400
QUORUM = consistency_level("LOCAL_QUORUM")
DAY, NEXT_DAY = dt.date(2024, 1, 15), dt.date(2024, 1, 16)


def at(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> dt.datetime:
    return dt.datetime(2024, 1, day, hour, minute, second, micro, tzinfo=dt.UTC)


def event(time: dt.datetime, n: int, event_type: str = "click") -> tuple:
    """A row of the events_by_time mart: (event_date, event_time, event_id, event_type, payload)."""
    return (time.date(), time, str(uuid.UUID(int=n)), event_type, f'{{"n": {n}}}')


def micros(time: dt.datetime) -> int:
    return int(time.timestamp() * 1_000_000)


@pytest.fixture
def mapping(cassandra, unique_name):
    m = TableMapping("events", unique_name, "events_by_time", "LOCAL_QUORUM", TTL)
    ensure_events_table(cassandra, m)
    yield m
    cassandra.execute(f"DROP KEYSPACE IF EXISTS {unique_name}")


def held(cassandra, m: TableMapping, *days: dt.date) -> list[tuple]:
    """(event_time, event_id, event_type, payload) of the table's rows of the days, oldest first."""
    select = cassandra.prepare(f"SELECT event_time, event_id, event_type, payload FROM {m.keyspace}.{m.table} "
                               "WHERE event_date = ?")
    return sorted((r.event_time, str(r.event_id), r.event_type, r.payload)
                  for day in days for r in cassandra.execute(select, (day,)))


def as_held(rows: list[tuple]) -> list[tuple]:
    """Mart rows as Cassandra gives them back: naive UTC times at millisecond precision."""
    return sorted((t.replace(tzinfo=None, microsecond=t.microsecond // 1000 * 1000), i, e, p) for _, t, i, e, p in rows)


VERSIONS = itertools.count(micros(dt.datetime.now(dt.UTC)), 1000)  # each load a later run than the one before


def load(cassandra, m: TableMapping, rows: list[tuple], start: dt.datetime, end: dt.datetime,
         version: int | None = None) -> LoadResult:
    return load_events_window(cassandra, m, rows, start, end, QUORUM, next(VERSIONS) if version is None else version)


def test_ensure_events_table_creates_the_seed_table_with_the_mapping_ttl_as_default(cassandra, mapping):
    ensure_events_table(cassandra, mapping)  # a second call changes nothing

    table = cassandra.execute("SELECT default_time_to_live FROM system_schema.tables "
                              "WHERE keyspace_name = %s AND table_name = %s", (mapping.keyspace, mapping.table)).one()
    columns = cassandra.execute("SELECT column_name, kind, type, clustering_order FROM system_schema.columns "
                                "WHERE keyspace_name = %s AND table_name = %s", (mapping.keyspace, mapping.table))
    assert table.default_time_to_live == TTL
    assert sorted(tuple(c) for c in columns) == [
        ("event_date", "partition_key", "date", "none"),
        ("event_id", "clustering", "uuid", "asc"),
        ("event_time", "clustering", "timestamp", "desc"),
        ("event_type", "regular", "text", "none"),
        ("payload", "regular", "text", "none"),
    ]


def test_events_are_written_with_the_mapping_ttl_and_the_runs_version_as_write_time(cassandra, mapping):
    rows = [event(at(15, 10, 1, 2, 345_678), 1), event(at(15, 10, 30), 2, "view")]

    result = load(cassandra, mapping, rows, at(15, 10), at(15, 11), version=1_700_000_000_000_000)

    assert (result.written, result.deleted) == (2, 0)
    assert held(cassandra, mapping, DAY) == as_held(rows)
    select = cassandra.prepare(f"SELECT event_time, TTL(event_type) AS ttl, WRITETIME(event_type) AS written "
                               f"FROM {mapping.keyspace}.{mapping.table} WHERE event_date = ?")
    found = sorted(cassandra.execute(select, (DAY,)))
    assert [r.written for r in found] == [1_700_000_000_000_000] * 2
    assert all(TTL - 60 < r.ttl <= TTL for r in found)


def test_a_zero_ttl_mapping_writes_rows_that_never_expire(cassandra, unique_name):
    m = TableMapping("events", unique_name, "events_by_time", "LOCAL_QUORUM", 0)
    ensure_events_table(cassandra, m)
    try:
        load(cassandra, m, [event(at(15, 10), 1)], at(15, 10), at(15, 11))

        ttl = cassandra.execute(f"SELECT TTL(event_type) FROM {unique_name}.events_by_time "
                                "WHERE event_date = %s", (DAY,)).one()[0]
        assert ttl is None
    finally:
        cassandra.execute(f"DROP KEYSPACE {unique_name}")


def test_reloading_a_window_with_fewer_rows_leaves_exactly_those_rows(cassandra, mapping):
    rows = [event(at(15, 10, m), m) for m in range(4)]
    load(cassandra, mapping, rows, at(15, 10), at(15, 11))

    result = load(cassandra, mapping, rows[1:3], at(15, 10), at(15, 11))

    assert (result.written, result.deleted) == (2, 2)
    assert held(cassandra, mapping, DAY) == as_held(rows[1:3])
    assert len(window_ids(cassandra, mapping, at(15, 10), at(15, 11))) == 2


def test_reloading_the_same_rows_deletes_nothing_and_changes_nothing(cassandra, mapping):
    rows = [event(at(15, 10, 0, 0, 999_999), 1), event(at(15, 10, 5), 2)]
    load(cassandra, mapping, rows, at(15, 10), at(15, 11))

    result = load(cassandra, mapping, rows, at(15, 10), at(15, 11))

    assert (result.written, result.deleted) == (2, 0)
    assert held(cassandra, mapping, DAY) == as_held(rows)


def test_rows_outside_the_window_are_untouched(cassandra, mapping):
    before, after = event(at(15, 9, 59, 59, 999_000), 1), event(at(15, 11), 2)
    load(cassandra, mapping, [before, after], at(15, 9), at(15, 12))
    inside = [event(at(15, 10), 3), event(at(15, 10, 59), 4)]
    load(cassandra, mapping, inside, at(15, 10), at(15, 11))

    result = load(cassandra, mapping, [], at(15, 10), at(15, 11))

    assert (result.written, result.deleted) == (0, 2)
    assert held(cassandra, mapping, DAY) == as_held([before, after])


def test_a_window_across_midnight_is_replaced_in_both_day_partitions(cassandra, mapping):
    rows = [event(at(15, 23, 30), 1), event(at(16, 0, 0), 2), event(at(16, 0, 30), 3)]
    load(cassandra, mapping, rows, at(15, 23), at(16, 1))
    assert len(window_ids(cassandra, mapping, at(15, 23), at(16, 1))) == 3

    result = load(cassandra, mapping, rows[1:2], at(15, 23), at(16, 1))

    assert result.deleted == 2
    assert held(cassandra, mapping, DAY, NEXT_DAY) == as_held(rows[1:2])


def test_window_ids_are_the_ids_of_the_window_only(cassandra, mapping):
    rows = [event(at(15, 9, 59), 1), event(at(15, 10), 2), event(at(15, 23, 59), 3), event(at(16, 0), 4),
            event(at(16, 1), 5)]
    load(cassandra, mapping, rows, at(15, 0), at(17, 0))

    assert len(window_ids(cassandra, mapping, at(15, 10), at(16, 1))) == 3
    assert len(window_ids(cassandra, mapping, at(15, 0), at(17, 0))) == 5
    assert len(window_ids(cassandra, mapping, at(16, 2), at(16, 3))) == 0


def test_a_row_a_run_removed_comes_back_when_a_later_run_re_adds_it(cassandra, mapping):
    rows = [event(at(15, 10, m), m) for m in range(3)]
    load(cassandra, mapping, rows, at(15, 10), at(15, 11))
    load(cassandra, mapping, rows[:1], at(15, 10), at(15, 11))  # the mart filtered two rows out
    assert held(cassandra, mapping, DAY) == as_held(rows[:1])

    load(cassandra, mapping, rows, at(15, 10), at(15, 11))  # reverted: they are back

    assert held(cassandra, mapping, DAY) == as_held(rows)


def test_a_stale_run_finishing_after_a_newer_one_changes_nothing(cassandra, mapping):
    older = [event(at(15, 10, m), m, "click") for m in range(3)]
    newer = [event(at(15, 10, 1), 1, "view"), event(at(15, 10, 7), 7)]  # row 0 and 2 gone, 1 changed, 7 new
    first, second = next(VERSIONS), next(VERSIONS)

    load(cassandra, mapping, newer, at(15, 10), at(15, 11), version=second)
    load(cassandra, mapping, older, at(15, 10), at(15, 11), version=first)  # launched first, finished last

    assert held(cassandra, mapping, DAY) == as_held(newer)


def test_a_changed_value_under_the_same_key_is_taken_by_a_later_run(cassandra, mapping):
    load(cassandra, mapping, [event(at(15, 10, 5), 1, "zzz-larger")], at(15, 10), at(15, 11))

    load(cassandra, mapping, [event(at(15, 10, 5), 1, "aaa-smaller")], at(15, 10), at(15, 11))

    assert [r[2] for r in held(cassandra, mapping, DAY)] == ["aaa-smaller"]


def test_rows_read_from_the_curated_mart_load_as_they_are(cassandra, mapping, s3, lake, unique_name):
    s3.create_bucket(Bucket=unique_name)
    hours = [at(15, 10), at(15, 11)]
    for n, hour in enumerate(hours):
        table = pa.table({"event_time": [hour + dt.timedelta(minutes=7, microseconds=1500)],
                          "event_id": [str(uuid.UUID(int=n))], "event_type": ["click"], "payload": ['{"a": 1}']})
        s3.put_object(Bucket=unique_name, Key=curated_key("curated", "events_by_time", hour),
                      Body=parquet_bytes(table, "zstd"))

    rows = mart_rows(lake, unique_name, "events_by_time", "event_date, event_time, event_id, event_type, payload",
                     hours)

    assert sorted(r[0] for r in rows) == [DAY, DAY]
    result = load(cassandra, mapping, rows, hours[0], hours[-1] + dt.timedelta(hours=1))
    assert result.written == 2
    assert held(cassandra, mapping, DAY) == [
        (dt.datetime(2024, 1, 15, h, 7, 0, 1000), str(uuid.UUID(int=n)), "click", '{"a": 1}')
        for n, h in enumerate((10, 11))]


@pytest.fixture
def counts(cassandra, unique_name):
    ensure_counts_table(cassandra, unique_name)
    yield unique_name
    cassandra.execute(f"DROP KEYSPACE IF EXISTS {unique_name}")


def held_counts(cassandra, keyspace: str) -> list[tuple]:
    rows = cassandra.execute(f"SELECT event_date, event_hour, event_type, category, events, users, revenue "
                             f"FROM {keyspace}.hourly_event_counts WHERE event_date = %s", (DAY,))
    return sorted((r.event_date.date(), *tuple(r)[1:]) for r in rows)


def test_hourly_counts_are_upserted_and_stale_event_types_of_the_hours_deleted(cassandra, counts):
    first = [(DAY, 10, "click", "engagement", 5, 3, Decimal("0.00")),
             (DAY, 10, "purchase", "commerce", 2, 2, Decimal("19.98")),
             (DAY, 11, "view", "engagement", 7, 4, Decimal("0.00"))]
    load_counts_window(cassandra, counts, first, [(DAY, 10), (DAY, 11)], QUORUM, next(VERSIONS))
    assert held_counts(cassandra, counts) == first

    second = [(DAY, 10, "click", "engagement", 6, 3, Decimal("0.00"))]
    result = load_counts_window(cassandra, counts, second, [(DAY, 10)], QUORUM, next(VERSIONS))

    assert (result.written, result.deleted) == (1, 1)
    assert held_counts(cassandra, counts) == second + first[2:]


def test_ensure_counts_table_creates_its_keyspace_and_is_idempotent(cassandra, counts):
    ensure_counts_table(cassandra, counts)

    keys = cassandra.execute("SELECT column_name, kind FROM system_schema.columns WHERE keyspace_name = %s "
                             "AND table_name = 'hourly_event_counts'", (counts,))
    assert sorted((c.column_name, c.kind) for c in keys if c.kind != "regular") == [
        ("event_date", "partition_key"), ("event_hour", "clustering"), ("event_type", "clustering")]


def test_hourly_counts_of_a_stale_run_finishing_late_change_nothing(cassandra, counts):
    older = [(DAY, 10, "click", "engagement", 5, 3, Decimal("0.00"))]
    newer = [(DAY, 10, "view", "engagement", 9, 4, Decimal("0.00"))]
    first, second = next(VERSIONS), next(VERSIONS)

    load_counts_window(cassandra, counts, newer, [(DAY, 10)], QUORUM, second)
    load_counts_window(cassandra, counts, older, [(DAY, 10)], QUORUM, first)

    assert held_counts(cassandra, counts) == newer
