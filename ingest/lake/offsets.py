"""Per UTC hour: every offset the commit ledger committed with an event time in the hour is in landed/ or in the
DLQ, exactly once.

Works from the hour's committed rounds (`ledger.hour_rounds`) and the files they list, never the whole raw zone:

- the rounds' files that span the hour are in the bucket and hold the rows their manifests declare (a lost or
  truncated file shows);
- `landed/<hour>` holds exactly the rows of those files whose event time (UTC) falls in the hour, each once;
- every dead letter the rounds declare is in the DLQ topic once. The DLQ is read once per run, from the first
  offset it still holds; the letters are matched by Kafka Connect's context headers (source topic, partition,
  offset). Where retention (or delete-records) moved the DLQ's low watermark, letters older than the oldest one it
  still holds for their source partition count as expired, not lost. Letters without context headers cannot be
  matched: they cover missing ones by count.

A round with dead letters only has no event hour: its letters are not audited here.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from ingest.connections import Connections
from ingest.lake.keys import s3_url
from ingest.ledger.manifest import Manifest
from ingest.timefmt import iso_seconds
from ingest.topic_reader import read_to_end, watermarks

READ_LIMIT_S = 300


@dataclass
class DeadLetterIndex:
    """The DLQ's letters of one source topic, by (source partition, source offset)."""

    letters: Counter = field(default_factory=Counter)
    without_coordinates: int = 0  # letters of the topic (or of no named topic) without partition/offset headers
    oldest: dict[int, int] = field(default_factory=dict)  # source partition -> lowest source offset still held
    trimmed: bool = False  # some DLQ partition's low watermark is above 0: retention deleted letters


def _coordinate(headers: dict[str, str], name: str) -> int | None:
    value = headers.get(f"__connect.errors.{name}", "")
    return int(value) if value.isdigit() else None


def dead_letters(connections: Connections, dlq_topic: str, topic: str) -> DeadLetterIndex:
    """The DLQ's letters of `topic`, read from each DLQ partition's first kept offset up to its end."""
    index = DeadLetterIndex()
    for batch in read_to_end(connections, dlq_topic, timeout=READ_LIMIT_S):
        for message in batch:
            _add(index, message, topic)
    # asked after the read: retention that moved a low watermark before or during it shows
    index.trimmed = any(low > 0 for low, _ in watermarks(connections, dlq_topic, timeout=10).values())
    return index


def _add(index: DeadLetterIndex, message, topic: str) -> None:
    headers = {k: v.decode(errors="replace") for k, v in (message.headers() or []) if v is not None}
    if headers.get("__connect.errors.topic", topic) != topic:
        return
    partition, offset = _coordinate(headers, "partition"), _coordinate(headers, "offset")
    if partition is None or offset is None:
        index.without_coordinates += 1
        return
    index.letters[(partition, offset)] += 1
    index.oldest[partition] = min(offset, index.oldest.get(partition, offset))


@dataclass
class HourAudit:
    hour: dt.datetime
    rounds: int  # committed rounds with event times in the hour
    files: int  # their files that span the hour
    missing_files: list[str]  # listed by a round, absent from the bucket
    rows_missing: int  # rows the manifests declare for those files that the files do not hold
    in_hour: int  # distinct offsets of those files' rows with an event time in the hour
    landed: int  # distinct offsets in landed/<hour>
    not_landed: int  # in the hour, not in landed/
    stray_landed: int  # in landed/, not a row of the hour's rounds in the hour
    repeated_landed: int  # rows of landed/ beyond the first of each offset
    dead_letters: int  # declared by the rounds
    dead_letters_found: int
    dead_letters_missing: int
    dead_letters_repeated: int
    dead_letters_expired: int  # below the oldest letter the DLQ still holds for their partition

    @property
    def gaps(self) -> int:
        return self.rows_missing + self.not_landed + self.dead_letters_missing

    @property
    def ok(self) -> bool:
        return self.gaps == 0 and self.stray_landed == 0 and self.repeated_landed == 0 \
            and self.dead_letters_repeated == 0 and not self.missing_files


def audit_hour(con, bucket: str, hour: dt.datetime, rounds: list[Manifest], files: list[str],
               missing_files: list[str], landed_key: str, dlq: DeadLetterIndex | None) -> HourAudit:
    """`files`: the rounds' files spanning the hour that the bucket holds (`missing_files`: those it lacks)."""
    declared = {f.key: f for m in rounds for f in m.files if hour in f.hours()}
    rows_missing = sum(declared[k].rows for k in missing_files)
    in_hour = f"event_time >= timestamptz '{iso_seconds(hour)}' " \
              f"and event_time < timestamptz '{iso_seconds(hour + dt.timedelta(hours=1))}'"
    con.execute("create or replace temp table audit_expected (p integer, o bigint)")
    if files:
        listing = ", ".join(repr(s3_url(bucket, k)) for k in files)
        con.execute(f"""create or replace temp table audit_raw as
            select filename, _kafka_partition as p, _kafka_offset as o, {in_hour} as in_hour
            from read_parquet([{listing}], filename = true, union_by_name = true)""")
        held = dict(con.sql("select filename, count(distinct o) from audit_raw group by all").fetchall())
        rows_missing += sum(max(declared[k].rows - held.get(s3_url(bucket, k), 0), 0) for k in files)
        con.execute("insert into audit_expected select distinct p, o from audit_raw where in_hour")
        con.execute("drop table audit_raw")
    con.execute(f"""create or replace temp table audit_landed as
        select _kafka_partition as p, _kafka_offset as o from read_parquet('{s3_url(bucket, landed_key)}')""")
    expected, landed, not_landed, stray, repeated = con.sql("""
        with distinct_landed as (select distinct p, o from audit_landed)
        select (select count(*) from audit_expected),
               (select count(*) from distinct_landed),
               (select count(*) from audit_expected anti join distinct_landed using (p, o)),
               (select count(*) from distinct_landed anti join audit_expected using (p, o)),
               (select count(*) from audit_landed) - (select count(*) from distinct_landed)""").fetchone()
    con.execute("drop table audit_landed")
    con.execute("drop table audit_expected")
    letters = _letters(rounds, dlq)
    return HourAudit(hour, len(rounds), len(declared), missing_files, rows_missing, expected, landed, not_landed,
                     stray, repeated, *letters)


def _letters(rounds: list[Manifest], dlq: DeadLetterIndex | None) -> tuple[int, int, int, int, int]:
    """(declared, found, missing, repeated, expired) of the rounds' dead letters."""
    declared = [(m.partition, o) for m in rounds for o in m.dlq_offsets]
    if not declared or dlq is None:
        return len(declared), 0, 0, 0, 0
    found = sum(1 for c in declared if dlq.letters[c] > 0)
    repeated = sum(dlq.letters[c] - 1 for c in declared if dlq.letters[c] > 1)
    absent = [(p, o) for p, o in declared if dlq.letters[(p, o)] == 0]
    expired = sum(1 for p, o in absent if dlq.trimmed and o < dlq.oldest.get(p, o + 1))
    missing = max(len(absent) - expired - dlq.without_coordinates, 0)
    return len(declared), found, missing, repeated, expired
