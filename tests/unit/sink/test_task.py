"""The S3 sink task's rotation and commit decisions (open, put, pre_commit, close), against the fakes of its
clients in fakes.py, whose event log pins what happened in which order. The worker's share (poll loop, rebalance
callbacks, rewind) is pinned in test_worker.py."""

import io
import threading

import pyarrow.parquet as pq
import pytest
from confluent_kafka import TopicPartition

from ingest.errors import SinkStopped
from support.sink_fakes import (
    DLQ,
    HOUR,
    HOUR_PATH,
    PARTITION,
    TOPIC,
    WATERMARK,
    WATERMARK_WRITE,
    bad,
    commit,
    gate_uploads,
    good,
    index,
    key,
    make_task,
    manifest,
    writer,
)


def handle(task, messages) -> None:
    """One batch, then its commit settled (the task would settle it before its next commit)."""
    task.put(messages)
    task.pre_commit()


def rotate(task) -> None:
    task.rotate_scheduled()
    task.pre_commit()


def test_flush_size_uploads_one_file_under_the_connectors_key_then_commits_the_next_offset():
    task, events = make_task(committed=40)
    handle(task, [good(40), good(41), good(42)])
    assert events == [commit(40), ("put", key(40)), commit(40), index(40), ("put_json", manifest(40)), commit(43),
                      *WATERMARK_WRITE]
    assert pq.read_table(io.BytesIO(task.storage.objects[key(40)]))["_kafka_offset"].to_pylist() == [40, 41, 42]
    assert (writer(task).committed, writer(task).has_open_files) == (43, False)


def test_watermark_after_a_commit_holds_the_committed_offset_and_newest_record_time():
    task, _ = make_task(committed=40, high=100)
    handle(task, [good(40), good(41), good(42)])
    assert task.storage.documents[WATERMARK] == {
        "connector": "s3-sink", "topic": TOPIC, "partition": PARTITION, "committed_offset": 43,
        "end_offset": 100, "lag": 57, "max_record_time": "2024-01-15T10:00:42.000Z",
        "complete_until": "2024-01-15T10:00:42.000Z", "complete_until_ms": HOUR + 42_000,
        "updated_at": "2024-01-15T10:00:30.000Z",
    }


def test_records_below_flush_size_are_neither_uploaded_nor_committed():
    task, events = make_task()
    handle(task, [good(0), good(1)])
    assert events == []
    assert (writer(task).committed, writer(task).next_offset, writer(task).state.count) == (None, 2, 2)


def test_flush_size_spans_batches_and_the_rest_stays_open():
    task, events = make_task()
    handle(task, [good(0), good(1)])
    handle(task, [good(2), good(3)])
    assert events[:6] == [commit(0), ("put", key(0)), commit(0), index(0), ("put_json", manifest(0)), commit(3)]
    assert writer(task).state.count == 1


def test_bad_record_goes_to_the_dlq_which_is_flushed_before_the_commit_that_passes_it():
    task, events = make_task(**DLQ)
    handle(task, [good(0), bad(1)])
    assert events == [("dlq.letter", 1, "VALUE_CONVERTER")]  # files still open: nothing to commit yet
    handle(task, [good(2), good(3)])
    assert events == [("dlq.letter", 1, "VALUE_CONVERTER"), commit(0), ("put", key(0)), commit(0), index(0),
                      ("put_json", manifest(0)), ("dlq.commit", [1], 4), *WATERMARK_WRITE]
    ledger = task.storage.documents[manifest(0)]
    assert (ledger["start_offset"], ledger["commit_offset"], ledger["records"]) == (0, 4, 4)
    assert ledger["dlq"] == {"topic": "events-dlq", "offsets": [1]}
    assert pq.read_table(io.BytesIO(task.storage.objects[key(0)]))["_kafka_offset"].to_pylist() == [0, 2, 3]
    assert (task.stats.dead_lettered, task.stats.good) == (1, 3)


def test_a_batch_of_only_dead_letters_is_committed_past():
    task, events = make_task(committed=5, **DLQ)
    handle(task, [bad(5), bad(6)])
    assert events == [("dlq.letter", 5, "VALUE_CONVERTER"), ("dlq.letter", 6, "VALUE_CONVERTER"), commit(5),
                      commit(5), ("put_json", manifest(5)), ("dlq.commit", [5, 6], 7), *WATERMARK_WRITE]
    assert task.storage.documents[manifest(5)]["files"] == []
    assert task.storage.documents[WATERMARK]["max_record_time"] is None


def test_errors_tolerance_none_stops_at_the_bad_record_and_commits_nothing_at_or_after_it():
    task, events = make_task(**{"flush.size": "2"})
    with pytest.raises(SinkStopped) as stopped:
        handle(task, [good(0), good(1), bad(2), good(3)])
    assert (stopped.value.topic, stopped.value.partition, stopped.value.offset) == (TOPIC, PARTITION, 2)
    assert stopped.value.reason.startswith("value is not valid JSON")
    assert [e for e in events if e[0] in ("put", "commit")] == [commit(0), ("put", key(0)), commit(0), commit(2)]
    assert pq.read_table(io.BytesIO(task.storage.objects[key(0)]))["_kafka_offset"].to_pylist() == [0, 1]


def test_errors_tolerance_none_commits_the_good_records_before_the_bad_one():
    task, events = make_task()
    with pytest.raises(SinkStopped) as stopped:
        handle(task, [good(0), bad(1), good(2)])
    assert stopped.value.offset == 1
    assert events == [commit(0), ("put", key(0)), commit(0), index(0), ("put_json", manifest(0)), commit(1),
                      *WATERMARK_WRITE]
    assert (writer(task).state.count, writer(task).committed) == (0, 1)


def test_scheduled_rotation_uploads_and_commits_once_the_wall_clock_passes_the_boundary():
    task, events = make_task(**{"rotate.schedule.interval.ms": "60000"})
    handle(task, [good(0), good(1)])  # opened at HOUR + 30 s: due at the next minute, HOUR + 60 s
    task.clock_ms.now = HOUR + 59_999
    rotate(task)
    assert events == []
    task.clock_ms.now = HOUR + 60_000
    rotate(task)
    assert events == [commit(0), ("put", key(0)), commit(0), index(0), ("put_json", manifest(0)), commit(2),
                      *WATERMARK_WRITE]
    rotate(task)
    assert len(events) == 8  # nothing open, nothing more


def test_revoke_uploads_and_commits_the_open_files():
    task, events = make_task()
    handle(task, [good(0), good(1)])
    task.close([TopicPartition(TOPIC, PARTITION)])
    assert events == [commit(0), ("put", key(0)), commit(0), index(0), ("put_json", manifest(0)), commit(2),
                      *WATERMARK_WRITE]
    assert task.writers == {}


def test_lost_partition_uploads_nothing_and_commits_nothing():
    task, events = make_task()
    handle(task, [good(0), good(1)])
    task.lose([TopicPartition(TOPIC, PARTITION)])
    assert events == []
    assert task.writers == {}
    handle(task, [good(2), good(3)])  # in flight when the partition was lost: left to its next owner
    assert events == []


def test_the_manifest_lists_each_file_with_its_offsets_rows_and_event_times():
    task, _ = make_task(committed=40)
    handle(task, [good(40), good(41), good(42)])
    document = task.storage.documents[manifest(40)]
    [entry] = document["files"]
    assert (document["format"], document["version"], document["start_offset"], document["commit_offset"]) == (
        "sluice-ledger", 1, 40, 43)
    assert {k: entry[k] for k in ("key", "encoded_partition", "first_offset", "last_offset", "rows",
                                  "min_event_time", "max_event_time")} == {
        "key": key(40), "encoded_partition": HOUR_PATH, "first_offset": 40, "last_offset": 42, "rows": 3,
        "min_event_time": "2024-01-15T10:00:40.000Z", "max_event_time": "2024-01-15T10:00:42.000Z"}
    assert entry["size"] == len(task.storage.objects[key(40)])


def test_a_failing_task_hands_nothing_over_on_revoke():
    task, events = make_task()
    handle(task, [good(0), good(1)])
    task.close([TopicPartition(TOPIC, PARTITION)], hand_over=False)
    assert events == []


def test_rounds_of_one_partition_closed_by_one_batch_are_committed_as_one():
    task, events = make_task(committed=40)
    handle(task, [good(o) for o in range(40, 47)])
    assert events[0] == commit(40) and sorted(events[1:3]) == [("put", key(40)), ("put", key(43))]
    assert events[3:] == [commit(40), index(40), ("put_json", manifest(40)), commit(46), *WATERMARK_WRITE]
    document = task.storage.documents[manifest(40)]
    assert (document["start_offset"], document["commit_offset"], document["records"]) == (40, 46, 6)
    assert [f["first_offset"] for f in document["files"]] == [40, 43]
    assert (writer(task).committed, writer(task).state.count, task.stats.commits) == (46, 1, 1)


def test_partitions_closed_by_one_batch_share_one_ownership_check_and_one_commit():
    task, events = make_task(committed=40)
    task.open(task.consumer.committed([TopicPartition(TOPIC, 3)]))
    handle(task, [good(o, p) for p in (PARTITION, 3) for o in range(40, 43)])
    checks = [e for e in events if e[0] == "commit" and e[3] == 40]
    assert checks == [("commit", TOPIC, PARTITION, 40), ("commit", TOPIC, 3, 40)] * 2  # before files, manifests
    assert [e for e in events if e[0] == "commit" and e[3] == 43] == [("commit", TOPIC, PARTITION, 43),
                                                                     ("commit", TOPIC, 3, 43)]
    assert {e[1] for e in events if e[0] == "put_json" and "/ledger/" in e[1]} == {
        manifest(40), f"_sluice/s3-sink/ledger/{TOPIC}/00003/{40:020d}.json"}
    last_put = max(i for i, e in enumerate(events) if e[0] in ("put", "put_json") and "/watermarks/" not in e[1])
    assert events.index(("commit", TOPIC, PARTITION, 43)) > last_put  # offsets only after every upload


def test_the_next_batch_is_taken_while_a_commit_is_in_flight_and_applied_once_it_settles():
    task, events = make_task(committed=40)
    release = gate_uploads(task)
    task.put([good(40), good(41), good(42)])  # closes a round: its upload waits for S3
    task.put([good(43), good(44)])  # returns with the round still in flight
    assert (writer(task).next_offset, writer(task).state.count, writer(task).committed) == (45, 2, 40)
    assert commit(43) not in events
    release.set()
    task.pre_commit()
    assert events == [commit(40), ("put", key(40)), commit(40), index(40), ("put_json", manifest(40)), commit(43),
                      *WATERMARK_WRITE]
    assert (writer(task).committed, writer(task).state.count, task.committer.in_flight) == (43, 2, None)


def test_a_commit_waits_for_the_one_in_flight_so_rounds_commit_in_order():
    task, events = make_task(committed=40)
    release = gate_uploads(task)
    task.put([good(40), good(41), good(42)])
    threading.Timer(0.2, release.set).start()
    task.put([good(43), good(44), good(45)])  # its round is sent only after the first one settled
    task.pre_commit()
    # each round: the ownership check before and after its uploads, then its offset
    assert [e for e in events if e[0] == "commit"] == [commit(40), commit(40), commit(43), commit(43), commit(43),
                                                       commit(46)]
    assert task.storage.documents[manifest(43)]["start_offset"] == 43  # follows the first round's commit


def test_revoke_settles_the_commit_in_flight_then_hands_over_the_open_files():
    task, events = make_task(committed=40)
    release = gate_uploads(task)
    task.put([good(40), good(41), good(42)])
    task.put([good(43)])
    threading.Timer(0.2, release.set).start()
    task.close([TopicPartition(TOPIC, PARTITION)])
    assert [e for e in events if e[0] == "commit"] == [commit(40), commit(40), commit(43), commit(43), commit(43),
                                                       commit(44)]
    assert (task.committer.in_flight, task.writers) == (None, {})
