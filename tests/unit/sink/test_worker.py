"""The worker's share of a sink task: rebalance callbacks, consumer errors, the rewind after a failed commit and
its backoff, shutdown, and whether the task is caught up — over a real task and the fakes of its clients."""

import logging
import threading
import time

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from ingest.errors import CommitFailed
from ingest.sink.clients import SinkClients, transactional_id
from ingest.sink.consumer_settings import consumer_settings
from ingest.sink.worker import MAX_FAILED_COMMITS, SinkWorker, build_worker
from support.sink_fakes import (
    DLQ,
    OFFSET_INVALID,
    PARTITION,
    TOPIC,
    WATERMARK_WRITE,
    FakeConsumer,
    FakeStorage,
    bad,
    commit,
    failed,
    gate_uploads,
    good,
    index,
    key,
    make_task,
    manifest,
    sink_config,
    writer,
)

TP = TopicPartition(TOPIC, PARTITION)


def make_worker(committed: int = OFFSET_INVALID, high: int = 1_000, **changes):
    """A subscribed worker whose task holds one partition (assigned through the callback); (worker, events)."""
    task, events = make_task(committed, high, opened=False, **changes)
    stop, pauses, topics = threading.Event(), [], []
    worker = SinkWorker(task.config, task, task.consumer, stop, on_topics=topics.append, sleep=pauses.append)
    worker.pauses, worker.topics = pauses, topics  # what it slept and the topics it reported, for the tests
    task.consumer.done = stop
    worker.subscribe()
    task.consumer.rebalance("assign", [TP])
    return worker, events


def poll(worker, *batches) -> None:
    """One pass of the loop per batch."""
    for batch in batches:
        worker.consumer.polls.append(batch)
        worker.iteration()


def poll_until(worker, condition) -> None:
    """Empty passes until `condition()` holds: a pass finishes the commit in flight once its files are up."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the commit in flight never settled"
        poll(worker, [])
        time.sleep(0.01)


def test_an_assignment_opens_its_partitions_at_the_committed_offsets_and_names_its_topics():
    worker, events = make_worker(committed=40)
    assert (writer(worker.task).committed, worker.topics, worker.consumer.topics) == (40, [{TOPIC}], [TOPIC])
    assert worker.stats.assigned_at > 0 and events == []


def test_a_member_that_lost_the_group_uploads_nothing_and_rewinds_to_the_committed_offset():
    worker, events = make_worker(committed=40)
    worker.consumer.fail_commits = True  # the ownership check before the upload is refused
    poll(worker, [good(40), good(41), good(42)])
    assert events == []
    assert (worker.rewind_needed, worker.task.writers, worker.stats.rewinds, worker.pauses) == (True, {}, 1, [0.5])
    worker.consumer.fail_commits = False
    poll(worker, [])
    assert events == [("seek", PARTITION, 40)]
    assert (worker.rewind_needed, writer(worker.task).committed) == (False, 40)


def test_a_failed_transaction_drops_the_rounds_dead_letters_and_rewinds():
    worker, events = make_worker(committed=5, **DLQ)

    def aborted(letters, offsets, group_metadata):
        raise CommitFailed("transaction", "Broker: Unknown member")

    worker.task.dlq.commit = aborted
    poll(worker, [bad(5), bad(6)])
    poll_until(worker, lambda: worker.rewind_needed)
    assert (worker.rewind_needed, dict(worker.task.dead_letters), worker.task.writers) == (True, {}, {})


def test_a_commit_failing_after_its_files_uploaded_is_raised_when_it_settles_and_the_task_rewinds():
    worker, events = make_worker(committed=40)
    release = gate_uploads(worker.task)
    poll(worker, [good(40), good(41), good(42)])  # checked, its file uploading: not failed yet
    worker.consumer.fail_commits = True  # the group moves on: the check after the upload is refused
    poll(worker, [good(43)])
    assert worker.rewind_needed is False
    release.set()
    poll_until(worker, lambda: worker.rewind_needed)
    assert (worker.rewind_needed, worker.task.writers, worker.stats.rewinds) == (True, {}, 1)
    assert events == [commit(40), ("put", key(40))]  # no manifest, no offset


def test_failed_commits_pause_longer_each_time_and_the_eighth_in_a_row_ends_the_task():
    worker, events = make_worker(committed=40)
    worker.consumer.fail_commits = True
    for _ in range(MAX_FAILED_COMMITS - 1):
        poll(worker, [], [good(40), good(41), good(42)])  # rewind, then the same records again
    assert worker.pauses == [0.5, 1, 2, 4, 8, 10, 10]
    with pytest.raises(CommitFailed):
        poll(worker, [], [good(40), good(41), good(42)])
    assert worker.stats.rewinds == MAX_FAILED_COMMITS - 1 and events.count(("seek", PARTITION, 40)) == 7


def test_a_commit_that_goes_through_starts_the_count_of_failures_again():
    worker, events = make_worker(committed=40)
    worker.consumer.fail_commits = True
    poll(worker, [good(40), good(41), good(42)], [])  # fails, then rewinds
    worker.consumer.fail_commits = False
    poll(worker, [good(40), good(41), good(42)])
    poll_until(worker, lambda: writer(worker.task).committed == 43)
    worker.consumer.fail_commits = True
    poll(worker, [good(43), good(44), good(45)])
    assert worker.pauses == [0.5, 0.5] and worker.stats.rewinds == 2


def test_a_rewind_while_the_broker_is_away_is_tried_again_on_the_next_pass():
    worker, events = make_worker(committed=40)
    worker.consumer.fail_commits = True
    poll(worker, [good(40), good(41), good(42)])
    away = KafkaException(KafkaError(KafkaError._TRANSPORT))
    worker.consumer.committed = lambda partitions, timeout=None: (_ for _ in ()).throw(away)
    poll(worker, [])
    assert (worker.rewind_needed, worker.task.writers, worker.pauses) == (True, {}, [0.5, 1])
    del worker.consumer.committed  # the broker is back: the class's method answers again
    poll(worker, [])
    assert (worker.rewind_needed, events) == (False, [("seek", PARTITION, 40)])


def test_partition_eof_and_a_missing_topic_are_no_records_and_a_fatal_error_ends_the_task(caplog):
    worker, events = make_worker(committed=40)
    with caplog.at_level(logging.WARNING, logger="sluice.sink"):
        poll(worker, [failed(KafkaError._PARTITION_EOF), failed(KafkaError.UNKNOWN_TOPIC_OR_PART)],
             [failed(KafkaError.UNKNOWN_TOPIC_OR_PART)], [good(40), failed(KafkaError._TRANSPORT)],
             [failed(KafkaError._TRANSPORT)])
    assert writer(worker.task).next_offset == 41
    assert sum("waiting for it to be created" in r.message for r in caplog.records) == 1
    assert sum("the client retries" in r.message for r in caplog.records) == 1  # once per code and 30 s
    with pytest.raises(KafkaException):
        poll(worker, [failed(KafkaError._FATAL, fatal=True)])


def test_a_failing_task_hands_nothing_over_on_revoke():
    worker, events = make_worker()

    def broken():
        raise RuntimeError("the task's thread fails")

    worker.consumer.polls += [[good(0), good(1)], broken]
    with pytest.raises(RuntimeError):
        worker.run()
    assert (worker.failed, events, worker.task.writers) == (True, [], {})


def test_shutdown_uploads_and_commits_the_open_files():
    worker, events = make_worker()
    worker.consumer.polls.append([good(0), good(1)])
    worker.run()  # the fake consumer sets the stop once its polls are used up
    assert events == [commit(0), ("put", key(0)), commit(0), index(0), ("put_json", manifest(0)), commit(2),
                      *WATERMARK_WRITE]
    assert worker.task.writers == {}  # closing the consumer revoked the partition


def test_lost_partitions_are_left_to_their_next_owner():
    worker, events = make_worker()
    poll(worker, [good(0), good(1)])
    worker.consumer.rebalance("lost", [TP])
    poll(worker, [good(2), good(3)])
    assert (events, worker.task.writers, worker.stats.caught_up) == ([], {}, False)


@pytest.mark.parametrize(("high", "caught_up"), [(2, True), (3, False), (-1, False)])
def test_caught_up_once_a_pass_finds_every_partition_consumed_to_its_known_high_watermark(high, caught_up):
    worker, _ = make_worker(committed=0, high=high)
    poll(worker, [good(0), good(1)])
    worker.consumer.position = lambda tps: [TopicPartition(t.topic, t.partition, 2) for t in tps]
    poll(worker, [])
    assert (worker.stats.fetch_lag == 0, worker.stats.caught_up) == (caught_up, caught_up)


def test_not_caught_up_between_a_revoke_and_the_next_assignment():
    worker, _ = make_worker(committed=0, high=0)
    poll(worker, [])
    assert worker.stats.caught_up is True
    worker.consumer.rebalance("revoke", [TP])  # an eager rebalance: everything goes, then comes back
    poll(worker, [])
    assert (worker.stats.fetch_lag, worker.stats.caught_up) == (0, False)
    worker.consumer.rebalance("assign", [])  # an empty assignment is an assignment
    poll(worker, [])
    assert worker.stats.caught_up is True


@pytest.mark.parametrize(("overrides", "liveness"), [
    ({}, {"session.timeout.ms": 10_000, "heartbeat.interval.ms": 2_000}),
    ({"consumer.override.session.timeout.ms": "30000"},
     {"session.timeout.ms": "30000", "heartbeat.interval.ms": 2_000}),
    ({"consumer.override.group.protocol": "consumer"}, {}),  # KIP-848: the broker's to set, refused by the client
])
def test_consumer_settings_leave_the_group_protocol_to_the_overrides(overrides, liveness):
    task, _ = make_task(opened=False, **overrides)
    built = consumer_settings(task.config, 0, None)
    assert {k: built[k] for k in ("session.timeout.ms", "heartbeat.interval.ms") if k in built} == liveness
    assert built.get("group.protocol") == overrides.get("consumer.override.group.protocol")
    assert built["fetch.queue.backoff.ms"] == 10 and built["enable.auto.commit"] is False


def test_a_worker_is_built_with_the_factorys_clients_shared_by_the_task():
    asked = []

    def clients(config, task_id, instance_id):
        asked.append((task_id, instance_id))
        return SinkClients(FakeConsumer([]), FakeStorage([]), None, transactional_id(config, task_id, instance_id))

    worker = build_worker(sink_config(), 1, threading.Event(), "host-a", clients=clients)
    assert asked == [(1, "host-a")] and worker.consumer is worker.task.consumer and worker.task_id == 1
    assert worker.task.committer.transactional_id == "s3-sink-host-a-1"  # stable: a restart fences its predecessor


def test_a_round_in_flight_when_its_partition_is_lost_writes_no_manifest():
    worker, events = make_worker()
    release = gate_uploads(worker.task)
    poll(worker, [good(0), good(1), good(2)])  # a first round: ownership proven, its file uploading
    threading.Timer(0.2, release.set).start()
    worker.consumer.rebalance("lost", [TP])  # the callback waits for the upload, then drops the round
    assert events == [commit(0), ("put", key(0))]
    assert (worker.rewind_needed, worker.task.writers, worker.task.committer.in_flight) == (True, {}, None)
