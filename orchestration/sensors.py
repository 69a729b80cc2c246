"""Sensors: complete raw hours -> runs, DLQ growth alerts, run failures. Their decisions live in lib/."""

import datetime as dt

import dagster as dg
from dagster_aws.s3 import S3Resource

from ingest.dlq.kafka_io import topic_depth
from ingest.lake.ledger import ledger_partitions, read_ledger
from ingest.lake.listing import committed_offsets, least_complete, watermarks
from orchestration.lib.raw_sensor import plan_tick, read_cursor
from orchestration.lib.run_workers import process_alive, worker_pid
from orchestration.partitions import hourly
from orchestration.resources import KafkaResource, LakeResource, service_connections

MANIFESTS_PER_TICK = 2000  # per Kafka partition: a tick stays short however far behind the cursor is


def raw_zone_sensor_for(job: dg.JobDefinition) -> dg.SensorDefinition:
    # 5 s: the sensor daemon's own loop ticks at most every 5 s (dagster/_daemon/sensor.py MIN_INTERVAL_LOOP_TIME),
    # so a shorter interval would not tick sooner; a tick is a few small S3 reads.
    @dg.sensor(job=job, minimum_interval_seconds=5, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Follows the sink's commit ledger: each committed round once, whatever its age; runs "
                           "the UTC hours its files' event times span once the sink's watermark says they are "
                           "complete (or a 10-minute grace has passed). Run key: hour + token of its new rounds.")
    def raw_zone_sensor(context: dg.SensorEvaluationContext, s3: S3Resource, lake: LakeResource):
        client = s3.get_client()
        marks = watermarks(client, lake.bucket, lake.connector, lake.topic)
        committed = committed_offsets(marks)
        watermark = least_complete(marks)
        read, _ = read_cursor(context.cursor)
        new = {p: read_ledger(client, lake.bucket, lake.connector, lake.topic, p, read.get(str(p)),
                              limit=MANIFESTS_PER_TICK)
               for p in ledger_partitions(client, lake.bucket, lake.connector, lake.topic)}
        tick = plan_tick(context.cursor, new, committed, watermark, dt.datetime.now(dt.UTC),
                         hourly.start.astimezone(dt.UTC))
        if tick.outside:
            context.log.warning("hours before the partitions start, not run: %s", sorted(set(tick.outside)))
        waiting = queued_partitions(context.instance, job.name) if tick.runs else set()
        for run in tick.runs:
            if run.key in waiting:  # it reads the whole hour when it starts: this round included
                context.log.info("hour %s: a queued run will take round(s) %s", run.key, run.token)
                continue
            yield dg.RunRequest(run_key=run.run_key, partition_key=run.key, tags={"sluice/ledger_token": run.token})
        context.update_cursor(tick.cursor)
        if not tick.runs:
            yield dg.SkipReason(f"{tick.accepted} new committed round(s); no complete hour to run")

    return raw_zone_sensor


def queued_partitions(instance: dg.DagsterInstance, job_name: str) -> set[str]:
    """Partitions with a run of the job not started yet: it lands the hour from the ledger as it is when it starts,
    so a round committed before then needs no run of its own (runs of an hour go one at a time)."""
    runs = instance.get_runs(dg.RunsFilter(job_name=job_name, statuses=[
        dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED]), limit=1000)
    return {run.tags["dagster/partition"] for run in runs if "dagster/partition" in run.tags}


def dlq_growth_sensor_for(job: dg.JobDefinition, topic: str, threshold: int = 100) -> dg.SensorDefinition:
    @dg.sensor(name="dlq_growth_sensor", job=job, minimum_interval_seconds=60,
               default_status=dg.DefaultSensorStatus.RUNNING,
               description=f"Alerts (a warning in the sensor log, ALERT in its skip reason) when {topic} has grown "
                           f"by more than {threshold} offsets since the last alert (records, plus a marker per sink "
                           "transaction that carried dead letters); it never launches the job.")
    def dlq_growth_sensor(context: dg.SensorEvaluationContext, kafka: KafkaResource):
        depth = topic_depth(service_connections(kafka), topic)
        if depth is None:
            return dg.SkipReason(f"DLQ topic {topic} does not exist yet")
        last = int(context.cursor or 0)
        if depth - last > threshold:
            context.log.warning("DLQ %s grew by %d offsets to %d: run dlq_reprocess", topic, depth - last, depth)
            context.update_cursor(str(depth))
            return dg.SkipReason(f"ALERT: DLQ {topic} grew by {depth - last} to {depth} offsets "
                                 f"(threshold {threshold})")
        return dg.SkipReason(f"DLQ {topic}: {depth} offsets ({depth - last} since the last alert)")

    return dlq_growth_sensor


@dg.run_failure_sensor(description="Logs every failed run with its step errors (hook your alerting here).",
                       default_status=dg.DefaultSensorStatus.RUNNING)
def run_failure_log(context: dg.RunFailureSensorContext):
    context.log.error("run %s of %s failed: %s", context.dagster_run.run_id, context.dagster_run.job_name,
                      context.failure_event.message)


@dg.sensor(minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Fails a 'Started' run whose worker process is gone (killed, out of memory, dagster dev "
                       "stopped), which Dagster's run monitoring cannot see with the default run launcher; run "
                       "retries then launch it again.")
def run_worker_watchdog(context: dg.SensorEvaluationContext):
    instance = context.instance
    if type(instance.run_launcher).__name__ != "DefaultRunLauncher":  # workers elsewhere: run monitoring's job
        return dg.SkipReason(f"run launcher {type(instance.run_launcher).__name__}: run monitoring checks workers")
    failed = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]), limit=200):
        run_id = record.dagster_run.run_id
        events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
        pid = worker_pid([event.message for event in events])
        if pid is None or process_alive(pid):
            continue
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status == dg.DagsterRunStatus.STARTED:
            instance.report_run_failed(run, f"Run worker (pid {pid}) is gone: the run cannot finish; failed so "
                                            "that run retries can launch it again.")
            context.log.warning("run %s: worker pid %d is gone; marked failed", run_id, pid)
            failed.append(run_id)
    return dg.SkipReason(f"failed {len(failed)} run(s) whose worker was gone: {failed}" if failed
                         else "every started run's worker is alive")
