"""A member that lost its partitions must not overwrite their new owner's objects, even when it was frozen between
proving ownership and its PUTs: data files and manifests are created only where their key is free, and a taken key
is replaced only after ownership is proven again — through the task and the fakes of its clients (a bucket with
S3's conditional PUTs)."""

import io

import pyarrow.parquet as pq
import pytest

from ingest.errors import CommitFailed
from ingest.ledger.manifest import Manifest, Writer
from support.sink_fakes import (
    HOUR,
    PARTITION,
    TOPIC,
    WATERMARK_WRITE,
    commit,
    gate_uploads,
    good,
    index,
    key,
    make_task,
    manifest,
)


def handle(task, messages) -> None:
    task.put(messages)
    task.pre_commit()


def another_round(start: int, commit_offset: int) -> dict:
    """The manifest document of a round [start, commit_offset) another member wrote."""
    return Manifest.of_round("s3-sink", TOPIC, PARTITION, start, commit_offset, [], None, [], Writer(1),
                             HOUR).to_json()


def rows(body: bytes) -> list[int]:
    return pq.read_table(io.BytesIO(body))["_kafka_offset"].to_pylist()


def test_a_first_round_proves_ownership_by_committing_where_its_manifest_starts():
    task, events = make_task()  # the group has no committed offset for the partition yet
    handle(task, [good(7), good(8), good(9)])
    assert events == [commit(7), ("put", key(7)), commit(7), index(7), ("put_json", manifest(7)), commit(10),
                      *WATERMARK_WRITE]
    assert task.storage.documents[manifest(7)]["start_offset"] == 7


def test_a_first_round_whose_ownership_probe_is_refused_writes_no_file_and_no_manifest():
    task, events = make_task()
    task.consumer.fail_commits = True  # the group moved on: another member holds the partition
    with pytest.raises(CommitFailed):
        handle(task, [good(0), good(1), good(2)])
    assert (events, task.storage.objects, task.storage.documents) == ([], {}, {})


def test_a_manifest_key_holding_a_round_the_group_committed_is_never_overwritten():
    task, events = make_task()  # frozen after its ownership checks passed; meanwhile the new owner committed
    task.storage.seed(manifest(0), another_round(0, 5))
    task.consumer.start = 5
    with pytest.raises(CommitFailed, match="holds a round the group committed"):
        handle(task, [good(0), good(1), good(2)])
    assert task.storage.documents[manifest(0)] == another_round(0, 5)
    assert events[-2:] == [("exists", manifest(0)), ("get_json", manifest(0))]  # no offset committed either


def test_a_leftover_uncommitted_manifest_is_replaced_once_ownership_is_proven_again():
    task, events = make_task()  # a crash left a round [0, 7) before its offset was committed
    task.storage.seed(manifest(0), another_round(0, 7))
    handle(task, [good(0), good(1), good(2)])
    assert events[3:] == [index(0), ("exists", manifest(0)), ("get_json", manifest(0)), commit(0),
                          ("put_over", manifest(0)), commit(3), *WATERMARK_WRITE]
    assert task.storage.documents[manifest(0)]["commit_offset"] == 3


def test_a_manifest_already_holding_this_very_round_is_left_as_it_is():
    first, _ = make_task()
    handle(first, [good(0), good(1), good(2)])
    task, events = make_task()  # the same round again, as a PUT retried after it had landed
    task.storage.seed(manifest(0), first.storage.documents[manifest(0)])
    handle(task, [good(0), good(1), good(2)])
    assert events[3:] == [index(0), ("exists", manifest(0)), ("get_json", manifest(0)), commit(3), *WATERMARK_WRITE]


def test_a_file_key_a_crash_left_taken_is_replaced_once_ownership_is_proven():
    task, events = make_task(committed=40)
    task.storage.seed(key(40), b"a leftover of a crash")
    handle(task, [good(40), good(41), good(42)])
    assert events[:5] == [commit(40), ("exists", key(40)), ("head", key(40)), commit(40), ("put_over", key(40))]
    assert rows(task.storage.objects[key(40)]) == [40, 41, 42]


def test_a_taken_file_key_stays_as_it_is_once_the_group_moved_on():
    task, events = make_task(committed=40)
    task.storage.seed(key(40), b"the new owner's file")
    release = gate_uploads(task)
    task.put([good(40), good(41), good(42)])  # ownership proven, then the member freezes: its upload waits
    task.consumer.fail_commits = True  # thawed: the group has moved on
    release.set()
    with pytest.raises(CommitFailed):
        task.pre_commit()
    assert events == [commit(40), ("exists", key(40)), ("head", key(40))]
    assert task.storage.objects[key(40)] == b"the new owner's file"
