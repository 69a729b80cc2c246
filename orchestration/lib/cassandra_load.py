"""Loading a window of a curated mart into Cassandra, with the DataStax Kafka sink's semantics.

Prepared statements only, grouped by partition key into small UNLOGGED batches; bounded concurrency
(execute_concurrent); failed statements retried with backoff.
events_by_time rows are written `USING TTL <mapping ttl> AND TIMESTAMP <event time>`, so a replay of old data
never overwrites a newer write of the same row. The window is replaced: rows Cassandra holds in the window that
the mart no longer has are deleted, so a re-run or a backfill leaves exactly the mart's rows.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass

from orchestration.lib.cassandra_mapping import TableMapping

CONCURRENCY = 64
RETRIES = 4
BATCH_ROWS = 20  # ~3 KiB of events_by_time rows, under Cassandra's 5 KiB batch warning


@dataclass
class LoadResult:
    written: int
    deleted: int
    seconds: float


def ensure_keyspace(session, keyspace: str, replication_factor: int = 1) -> None:
    session.execute(f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
                    f"{{'class': 'SimpleStrategy', 'replication_factor': {int(replication_factor)}}}")


def ensure_events_table(session, m: TableMapping, replication_factor: int = 1) -> None:
    """The seed's table (config/events_by_time.cql), created if missing, with the mapping's TTL as default."""
    ensure_keyspace(session, m.keyspace, replication_factor)
    session.execute(f"""
        CREATE TABLE IF NOT EXISTS {m.keyspace}.{m.table} (
            event_date date, event_time timestamp, event_id uuid, event_type text, payload text,
            PRIMARY KEY ((event_date), event_time, event_id)
        ) WITH CLUSTERING ORDER BY (event_time DESC) AND default_time_to_live = {int(m.ttl_seconds)}""")


def ensure_counts_table(session, keyspace: str, table: str = "hourly_event_counts") -> None:
    ensure_keyspace(session, keyspace)  # the two serving assets run side by side: either may come first
    session.execute(f"""
        CREATE TABLE IF NOT EXISTS {keyspace}.{table} (
            event_date date, event_hour int, event_type text, category text, events bigint, users bigint,
            revenue decimal, PRIMARY KEY ((event_date), event_hour, event_type)
        )""")


def execute_all(session, statement, params: list[tuple]) -> None:
    """Run the statement for every parameter tuple, CONCURRENCY at a time, retrying failures with backoff."""
    from cassandra.concurrent import execute_concurrent

    pending = params
    for attempt in range(RETRIES + 1):
        # statement None: each parameter tuple holds a ready statement (a batch) as its only element
        work = [(p[0], ()) if statement is None else (statement, p) for p in pending]
        results = execute_concurrent(session, work, concurrency=CONCURRENCY, raise_on_first_error=False)
        failed = [p for p, (ok, _) in zip(pending, results, strict=True) if not ok]
        if not failed:
            return
        if attempt == RETRIES:
            errors = [r for ok, r in results if not ok]
            raise RuntimeError(f"{len(failed)} statements failed after {RETRIES} retries; first: {errors[0]!r}")
        time.sleep(0.2 * 2**attempt)
        pending = failed


def execute_grouped(session, statement, params: list[tuple], batch_rows: int = BATCH_ROWS) -> None:
    """Like execute_all, but rows of one partition key (the first parameter) go together in UNLOGGED batches of
    `batch_rows`: one mutation per batch on the replica, far fewer round trips. A batch never spans partitions."""
    from cassandra.query import BatchStatement, BatchType

    groups: dict = {}
    for p in params:
        groups.setdefault(p[0], []).append(p)
    batches = []
    for rows in groups.values():
        for i in range(0, len(rows), batch_rows):
            batch = BatchStatement(batch_type=BatchType.UNLOGGED, consistency_level=statement.consistency_level)
            for row in rows[i:i + batch_rows]:
                batch.add(statement, row)
            batches.append(batch)
    execute_all(session, None, [(b,) for b in batches])


def _micros(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _utc_ms(moment: dt.datetime) -> dt.datetime:
    """Naive UTC at millisecond precision: what Cassandra's timestamp stores and returns."""
    t = moment.astimezone(dt.UTC) if moment.tzinfo else moment
    return t.replace(tzinfo=None, microsecond=t.microsecond // 1000 * 1000)


def _days(start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    first, last = start.astimezone(dt.UTC).date(), (end - dt.timedelta(microseconds=1)).astimezone(dt.UTC).date()
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]


def load_events_window(session, m: TableMapping, rows: list[tuple], start: dt.datetime, end: dt.datetime,
                       consistency: int) -> LoadResult:
    """rows: (event_date, event_time, event_id, event_type, payload) of the mart for [start, end)."""
    began = time.monotonic()
    table = f"{m.keyspace}.{m.table}"
    select = session.prepare(f"SELECT event_time, event_id FROM {table} "
                             "WHERE event_date = ? AND event_time >= ? AND event_time < ?")
    delete = session.prepare(f"DELETE FROM {table} WHERE event_date = ? AND event_time = ? AND event_id = ?")
    insert = session.prepare(f"INSERT INTO {table} (event_date, event_time, event_id, event_type, payload) "
                             "VALUES (?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?")
    for statement in (select, delete, insert):
        statement.consistency_level = consistency

    rows = [(r[0], _utc_ms(r[1]), uuid.UUID(str(r[2])), r[3], r[4]) for r in rows]
    wanted = {(r[1], r[2]) for r in rows}
    stale = [(day, found.event_time, found.event_id) for day in _days(start, end)
             for found in session.execute(select, (day, start, end))
             if (found.event_time, found.event_id) not in wanted]
    execute_all(session, delete, stale)
    execute_grouped(session, insert, [(*r, m.ttl_seconds, _micros(r[1].replace(tzinfo=dt.UTC))) for r in rows])
    return LoadResult(len(rows), len(stale), time.monotonic() - began)


def load_counts_window(session, keyspace: str, rows: list[tuple], hours: list[tuple[dt.date, int]],
                       consistency: int, table: str = "hourly_event_counts") -> LoadResult:
    """rows: (event_date, event_hour, event_type, category, events, users, revenue); hours: the window's hours."""
    began = time.monotonic()
    name = f"{keyspace}.{table}"
    select = session.prepare(f"SELECT event_type FROM {name} WHERE event_date = ? AND event_hour = ?")
    delete = session.prepare(f"DELETE FROM {name} WHERE event_date = ? AND event_hour = ? AND event_type = ?")
    upsert = session.prepare(f"INSERT INTO {name} (event_date, event_hour, event_type, category, events, users, "
                             "revenue) VALUES (?, ?, ?, ?, ?, ?, ?)")
    for statement in (select, delete, upsert):
        statement.consistency_level = consistency
    wanted = {(r[0], r[1], r[2]) for r in rows}
    stale = [(d, h, found.event_type) for d, h in hours for found in session.execute(select, (d, h))
             if (d, h, found.event_type) not in wanted]
    execute_all(session, delete, stale)
    execute_all(session, upsert, rows)
    return LoadResult(len(rows), len(stale), time.monotonic() - began)


def count_window(session, m: TableMapping, start: dt.datetime, end: dt.datetime) -> int:
    """Rows the events table holds for [start, end), read per day partition."""
    statement = session.prepare(f"SELECT count(*) FROM {m.keyspace}.{m.table} "
                                "WHERE event_date = ? AND event_time >= ? AND event_time < ?")
    return sum(session.execute(statement, (day, start, end)).one()[0] for day in _days(start, end))
