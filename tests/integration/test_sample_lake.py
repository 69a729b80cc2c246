"""`sluice sample-lake --ledger`: the sample raw zone with the commit ledger its sink would have written — rounds
that tile each partition, an hour index, watermarks saying everything is committed — and landing by that ledger
gets the rows of the hour's directory."""

import datetime as dt

import pytest

from ingest.lake.landing import land_hour
from ingest.lake.ledger import hour_rounds, ledger_partitions, read_ledger, tiling_problems
from ingest.lake.listing import committed_offsets, least_complete, list_keys, watermarks
from ingest.ledger.keys import hour_index_prefix
from ingest.sample_lake import write_sample_lake
from support.sink import START_MS

HOURS, COUNT, SEED = 3, 600, 5
FIRST = dt.datetime.fromtimestamp(START_MS / 1000, dt.UTC)


@pytest.fixture
def sample(connections, s3, names):
    lake = write_sample_lake(connections, names["bucket"], names["topic"], HOURS, START_MS, COUNT, seed=SEED,
                             ledger=names["name"])
    return lake | {"connector": names["name"]}


def test_the_ledger_tiles_every_partition_up_to_the_committed_offset_without_the_replay(s3, sample):
    bucket, connector, topic = sample["bucket"], sample["connector"], sample["topic"]
    documents = watermarks(s3, bucket, connector, topic)
    committed = committed_offsets(documents)
    in_ledger = set()

    assert ledger_partitions(s3, bucket, connector, topic) == [0, 1] == sorted(committed)
    for partition in (0, 1):
        manifests = read_ledger(s3, bucket, connector, topic, partition)
        assert tiling_problems(manifests) == []
        assert (manifests[0].start_offset, manifests[-1].commit_offset) == (0, committed[partition])
        in_ledger |= {f.key for m in manifests for f in m.files}
    assert len(in_ledger) == sample["files"] - 1 == sample["manifests"]
    assert len(set(sample["keys"]) - in_ledger) == 1  # the replay's file
    assert least_complete(documents) == FIRST + dt.timedelta(hours=HOURS)
    assert all(d.lag == 0 for d in documents)


def test_the_hour_index_lists_each_hour_of_the_sample_and_no_other(s3, sample):
    def entries(hour: dt.datetime) -> int:
        return len(list_keys(s3, sample["bucket"], hour_index_prefix(sample["connector"], sample["topic"], hour),
                             suffix=".json"))

    hours = [FIRST + dt.timedelta(hours=k) for k in range(-1, HOURS + 1)]
    counts = [entries(h) for h in hours]

    assert counts[0] == counts[-1] == 0
    assert all(n >= 2 for n in counts[1:-1])  # each hour: a round of each partition, and late rounds
    assert sum(counts) == sample["hour_index_entries"]


def test_landing_an_hour_by_the_ledger_gets_the_rows_of_its_directory(s3, lake, sample):
    bucket, topic, connector = sample["bucket"], sample["topic"], sample["connector"]
    committed = committed_offsets(watermarks(s3, bucket, connector, topic))
    rounds = hour_rounds(s3, bucket, connector, topic, FIRST, committed)

    by_directory = land_hour(lake, s3, bucket, "topics", "landed-dir", topic, FIRST)
    by_ledger = land_hour(lake, s3, bucket, "topics", "landed-ledger", topic, FIRST, rounds)

    def rows(key: str) -> list[tuple]:
        return lake.sql(f"select _kafka_partition, _kafka_offset, event_id from read_parquet('s3://{bucket}/{key}') "
                        "order by all").fetchall()

    assert by_ledger.files == by_directory.files - 1  # the first hour holds the replay, in no manifest
    assert by_directory.repeated > 0 and by_ledger.repeated == 0
    assert by_ledger.rows == by_directory.rows > 0
    assert rows(by_ledger.key) == rows(by_directory.key)
