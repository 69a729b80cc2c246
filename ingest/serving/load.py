"""Loading a window of a curated mart into Cassandra, with the DataStax Kafka sink's semantics.

Prepared statements only, grouped by partition key into small UNLOGGED batches; bounded concurrency
(execute_concurrent); failed statements retried with backoff.

Versioned: every write of a load carries one write timestamp, the run's `version` (microseconds; the asset
passes its run's creation time, so it grows with every run of an hour). A load replaces its window: a range
tombstone over the window at `version - 1`, then the mart's rows `USING TTL <mapping ttl> AND TIMESTAMP
<version>`. So the latest run always wins, whatever order runs finish in: a row a run removed comes back when a
later run re-adds it, and a stale run that finishes late changes nothing (its rows and its tombstone are older
than the newer run's tombstone).

No DDL when the keyspace and tables exist (the driver's schema metadata says so), so a role with only SELECT and
MODIFY on the keyspace can load; `sluice cassandra init` creates them beforehand with the same statements.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass

from ingest.errors import SluiceError
from ingest.serving.mapping import TableMapping

CONCURRENCY = 64
RETRIES = 4
BATCH_ROWS = 20  # ~3 KiB of events_by_time rows, under Cassandra's 5 KiB batch warning
COUNTS_TABLE = "hourly_event_counts"


@dataclass
class LoadResult:
    written: int
    deleted: int
    seconds: float


class MissingSchema(SluiceError):
    """A keyspace or table the load needs does not exist, and the loading role may not create it."""

    def __init__(self, name: str, reason: str):
        self.name, self.reason = name, reason
        super().__init__(f"{name} does not exist and this role may not create it ({reason}): `sluice cassandra init`, "
                         f"run as a role that may create keyspaces and tables, creates it")


def keyspace_cql(keyspace: str, replication_factor: int = 1) -> str:
    return (f"CREATE KEYSPACE IF NOT EXISTS {keyspace} WITH replication = "
            f"{{'class': 'SimpleStrategy', 'replication_factor': {int(replication_factor)}}}")


def events_table_cql(m: TableMapping) -> str:
    """The seed's table (config/events_by_time.cql), with the mapping's TTL as its default."""
    return f"""
        CREATE TABLE IF NOT EXISTS {m.keyspace}.{m.table} (
            event_date date, event_time timestamp, event_id uuid, event_type text, payload text,
            PRIMARY KEY ((event_date), event_time, event_id)
        ) WITH CLUSTERING ORDER BY (event_time DESC) AND default_time_to_live = {int(m.ttl_seconds)}"""


def counts_table_cql(keyspace: str, table: str = COUNTS_TABLE) -> str:
    return f"""
        CREATE TABLE IF NOT EXISTS {keyspace}.{table} (
            event_date date, event_hour int, event_type text, category text, events bigint, users bigint,
            revenue decimal, PRIMARY KEY ((event_date), event_hour, event_type)
        )"""


def ensure_schema(session, keyspace: str, tables: dict[str, str], replication_factor: int = 1) -> dict[str, bool]:
    """Create the keyspace and those of `tables` (name: CREATE TABLE) that the driver's schema metadata does not
    list, and nothing else: Cassandra checks the CREATE permission before IF NOT EXISTS, so a role with only SELECT
    and MODIFY can load into existing tables only if no DDL is sent. A refused CREATE raises MissingSchema. Returns
    each name ("keyspace ks", "table ks.t") and whether it was created (IF NOT EXISTS: another load may have been
    first)."""
    from cassandra import Unauthorized

    found = session.cluster.metadata.keyspaces.get(keyspace)
    wanted = [(f"keyspace {keyspace}", keyspace_cql(keyspace, replication_factor), found is not None)]
    wanted += [(f"table {keyspace}.{table}", cql, found is not None and table in found.tables)
               for table, cql in tables.items()]
    created = {}
    for name, cql, exists in wanted:
        if not exists:
            try:
                session.execute(cql)
            except Unauthorized as exc:
                raise MissingSchema(name, str(exc)) from exc
        created[name] = not exists
    return created


def ensure_events_table(session, m: TableMapping, replication_factor: int = 1) -> dict[str, bool]:
    """The mapping's events table (and keyspace), created if missing."""
    return ensure_schema(session, m.keyspace, {m.table: events_table_cql(m)}, replication_factor)


def ensure_counts_table(session, keyspace: str, table: str = COUNTS_TABLE) -> dict[str, bool]:
    # the two serving assets run side by side: either may come first, so either creates the keyspace
    return ensure_schema(session, keyspace, {table: counts_table_cql(keyspace, table)})


def ensure_serving_tables(session, m: TableMapping, replication_factor: int = 1) -> dict[str, bool]:
    """Both tables the serving assets load, in the mapping's keyspace: what `sluice cassandra init` creates."""
    return ensure_schema(session, m.keyspace, {m.table: events_table_cql(m),
                                               COUNTS_TABLE: counts_table_cql(m.keyspace)}, replication_factor)


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


def write_version(moment: dt.datetime) -> int:
    """A load's write timestamp from a moment (a run's creation): microseconds since the epoch."""
    return int(moment.timestamp() * 1_000_000)


def _utc_ms(moment: dt.datetime) -> dt.datetime:
    """Naive UTC at millisecond precision: what Cassandra's timestamp stores and returns."""
    t = moment.astimezone(dt.UTC) if moment.tzinfo else moment
    return t.replace(tzinfo=None, microsecond=t.microsecond // 1000 * 1000)


def _days(start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    first, last = start.astimezone(dt.UTC).date(), (end - dt.timedelta(microseconds=1)).astimezone(dt.UTC).date()
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]


def load_events_window(session, m: TableMapping, rows: list[tuple], start: dt.datetime, end: dt.datetime,
                       consistency: int, version: int) -> LoadResult:
    """rows: (event_date, event_time, event_id, event_type, payload) of the mart for [start, end); `version`: the
    write timestamp (microseconds) of this load, greater than any earlier load's of the window."""
    began = time.monotonic()
    table = f"{m.keyspace}.{m.table}"
    select = session.prepare(f"SELECT event_time, event_id FROM {table} "
                             "WHERE event_date = ? AND event_time >= ? AND event_time < ?")
    clear = session.prepare(f"DELETE FROM {table} USING TIMESTAMP ? "
                            "WHERE event_date = ? AND event_time >= ? AND event_time < ?")
    insert = session.prepare(f"INSERT INTO {table} (event_date, event_time, event_id, event_type, payload) "
                             "VALUES (?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?")
    for statement in (select, clear, insert):
        statement.consistency_level = consistency

    rows = [(r[0], _utc_ms(r[1]), uuid.UUID(str(r[2])), r[3], r[4]) for r in rows]
    wanted = {(r[1], r[2]) for r in rows}
    days = _days(start, end)
    stale = sum(1 for day in days for found in session.execute(select, (day, start, end))
                if (found.event_time, found.event_id) not in wanted)
    execute_all(session, clear, [(version - 1, day, start, end) for day in days])
    execute_grouped(session, insert, [(*r, m.ttl_seconds, version) for r in rows])
    return LoadResult(len(rows), stale, time.monotonic() - began)


def load_counts_window(session, keyspace: str, rows: list[tuple], hours: list[tuple[dt.date, int]],
                       consistency: int, version: int, table: str = COUNTS_TABLE) -> LoadResult:
    """rows: (event_date, event_hour, event_type, category, events, users, revenue); hours: the window's hours;
    `version` as in load_events_window."""
    began = time.monotonic()
    name = f"{keyspace}.{table}"
    select = session.prepare(f"SELECT event_type FROM {name} WHERE event_date = ? AND event_hour = ?")
    clear = session.prepare(f"DELETE FROM {name} USING TIMESTAMP ? WHERE event_date = ? AND event_hour = ?")
    upsert = session.prepare(f"INSERT INTO {name} (event_date, event_hour, event_type, category, events, users, "
                             "revenue) VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?")
    for statement in (select, clear, upsert):
        statement.consistency_level = consistency
    wanted = {(r[0], r[1], r[2]) for r in rows}
    stale = sum(1 for d, h in hours for found in session.execute(select, (d, h))
                if (d, h, found.event_type) not in wanted)
    execute_all(session, clear, [(version - 1, d, h) for d, h in hours])
    execute_all(session, upsert, [(*r, version) for r in rows])
    return LoadResult(len(rows), stale, time.monotonic() - began)


def window_ids(session, m: TableMapping, start: dt.datetime, end: dt.datetime) -> set[str]:
    """The event ids the events table holds for [start, end), read per day partition."""
    statement = session.prepare(f"SELECT event_id FROM {m.keyspace}.{m.table} "
                                "WHERE event_date = ? AND event_time >= ? AND event_time < ?")
    return {str(row[0]) for day in _days(start, end) for row in session.execute(statement, (day, start, end))}
