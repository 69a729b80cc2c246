"""`sluice sink`: tasks.max tasks in one consumer group, counters logged periodically, SIGTERM flushes."""

from __future__ import annotations

import logging
import signal
import threading
import time

from ingest.clients import ensure_topic
from ingest.config import SinkConfig
from ingest.errors import SluiceError
from ingest.sink import reader_schema
from ingest.sink.dlq import DLQ_MAX_MESSAGE_BYTES
from ingest.sink.schemas import SchemaRecorder
from ingest.sink.stats import TaskStats, summary, totals
from ingest.sink.storage import Storage
from ingest.sink.worker import SinkWorker, build_worker

log = logging.getLogger("sluice.sink")
JOIN_GRACE_S = 15.0  # time a fresh consumer group may take to hand out partitions before "idle" counts


def idle_long_enough(total: TaskStats, started: float, now: float, idle_s: float) -> bool:
    """`--exit-when-idle`: `idle_s` seconds without records since the last record or (re)assignment — before
    any assignment, since the group's grace after `started` — and nothing left to fetch."""
    since = max(total.last_message, total.assigned_at) if total.assigned_at else started + JOIN_GRACE_S
    return now - since >= idle_s and total.fetch_lag == 0


def at_end(total: TaskStats, started: float, now: float) -> bool:
    """`--exit-at-end`: every task holds an assignment with every partition of it consumed up to its known high
    watermark; before any assignment, once the group's grace is over (a group with no partitions ends too)."""
    if not total.assigned_at:
        return idle_long_enough(total, started, now, 0.0)
    return total.caught_up and total.fetch_lag == 0


def run_sink(config: SinkConfig, instance_id: str | None = None, create_bucket: bool = False,
             exit_when_idle: float | None = None, stats_every: float = 10.0, exit_at_end: bool = False) -> int:
    """Run until SIGTERM/SIGINT (or `exit_when_idle` seconds without records, or with `exit_at_end` once every
    partition is consumed to its end); 0 on a clean stop."""
    for warning in config.warnings:
        log.warning("config: %s", warning)
    storage = Storage(config.connections, config.bucket, config.s3_retry_backoff_ms, config.s3_retry_timeout_ms)
    storage.ensure_bucket(create_bucket)
    if config.errors_tolerance == "all" and config.dlq_topic:
        ensure_topic(config.client_connections("admin"), config.dlq_topic, 1, config.dlq_replication_factor,
                     {"max.message.bytes": str(DLQ_MAX_MESSAGE_BYTES)})

    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        log.info("%s: flushing open files, uploading and committing before exit", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        resolved = reader_schema.resolve(config, stop)  # an Avro sink without a schema file: the registry's
        if resolved is None:
            log.info("stopped while waiting for the schema registry; nothing was consumed")
            return 0
        return _run_tasks(resolved, storage, stop, instance_id, exit_when_idle, exit_at_end, stats_every)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _run_tasks(config: SinkConfig, storage: Storage, stop: threading.Event, instance_id: str | None,
               exit_when_idle: float | None, exit_at_end: bool, stats_every: float) -> int:
    failures: list[BaseException] = []
    # Each topic's schema, for the DLQ job to validate alike: a schema file as it is, else the registry's.
    converter = config.value_converter
    record_schemas = SchemaRecorder(storage, config.name, config.schema_file or reader_schema.event_schema(config),
                                    "avro" if converter.kind == "avro" else "envelope" if converter.envelope else None)
    workers = [build_worker(config, i, stop, instance_id, on_topics=record_schemas, on_schema=record_schemas.change)
               for i in range(config.tasks_max)]

    def run(worker: SinkWorker) -> None:
        try:
            worker.run()
        except BaseException as exc:  # a task's end is reported and stops the others, never swallowed
            failures.append(exc)
            stop.set()

    threads = [threading.Thread(target=run, args=(w,), name=f"sink-task-{w.task_id}") for w in workers]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    log.info("sink %s: %d task(s) in group %s, writing s3://%s/%s", config.name, len(workers), config.group_id,
             config.bucket, config.topics_dir)
    last_report = started
    while any(t.is_alive() for t in threads):
        time.sleep(0.2)
        now = time.monotonic()
        if now - last_report >= stats_every:
            log.info("progress: %s", summary(workers))
            last_report = now
        if stop.is_set():
            continue
        if exit_at_end and at_end(totals(workers), started, now):
            log.info("every assigned partition consumed to its end: stopping")
            stop.set()
        elif exit_when_idle is not None and idle_long_enough(totals(workers), started, now, exit_when_idle):
            log.info("no records for %.0fs: stopping", exit_when_idle)
            stop.set()
    for thread in threads:
        thread.join()
    log.info("final: %s", summary(workers))
    for exc in failures:
        if isinstance(exc, SluiceError):
            log.error("%s", exc)
        else:
            log.error("task failed: %r", exc, exc_info=exc)
    return 1 if failures else 0
