import datetime as dt
import uuid

from cassandra import ConsistencyLevel


def test_row_written_with_ttl_is_read_back_newest_first(cassandra, unique_name):
    keyspace = unique_name
    replication = "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    cassandra.execute(f"CREATE KEYSPACE {keyspace} WITH replication = {replication}")
    try:
        cassandra.execute(f"""
            CREATE TABLE {keyspace}.events_by_time (
                event_date date, event_time timestamp, event_id uuid, event_type text, payload text,
                PRIMARY KEY ((event_date), event_time, event_id)
            ) WITH CLUSTERING ORDER BY (event_time DESC)""")
        insert = cassandra.prepare(
            f"INSERT INTO {keyspace}.events_by_time (event_date, event_time, event_id, event_type, payload)"
            " VALUES (?, ?, ?, ?, ?) USING TTL ?"
        )
        insert.consistency_level = ConsistencyLevel.LOCAL_QUORUM
        day = dt.date(2024, 1, 15)
        rows = [
            (day, dt.datetime(2024, 1, 15, 10, minute), uuid.uuid4(), "click", f'{{"m": {minute}}}')
            for minute in (1, 2)
        ]
        for row in rows:
            cassandra.execute(insert, (*row, 365 * 86400))

        select = cassandra.prepare(
            f"SELECT event_time, event_id, event_type, payload, TTL(payload) AS ttl"
            f" FROM {keyspace}.events_by_time WHERE event_date = ?"
        )
        got = list(cassandra.execute(select, (day,)))
        assert [(r.event_time, r.event_id, r.event_type, r.payload) for r in got] == [
            (t, i, e, p) for _, t, i, e, p in reversed(rows)
        ]
        assert all(0 < r.ttl <= 365 * 86400 for r in got)
    finally:
        cassandra.execute(f"DROP KEYSPACE {keyspace}")
