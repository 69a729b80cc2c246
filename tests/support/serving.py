"""What Cassandra serves, read back as users would: the event ids of one hour of 2024-01-15."""

from __future__ import annotations

import datetime as dt


def cassandra_ids(cassandra, keyspace: str, hour: int) -> list[str]:
    """The event ids events_by_time holds for 2024-01-15 <hour>:00 UTC, sorted."""
    start = dt.datetime(2024, 1, 15, hour, tzinfo=dt.UTC)
    rows = cassandra.execute(f"SELECT event_id FROM {keyspace}.events_by_time WHERE event_date = %s "
                             "AND event_time >= %s AND event_time < %s",
                             (start.date(), start, start + dt.timedelta(hours=1)))
    return sorted(str(r.event_id) for r in rows)
