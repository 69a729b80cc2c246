"""Sensors: new raw hours -> runs, DLQ growth, run failures."""

import datetime as dt
import json

import dagster as dg
from dagster_aws.s3 import S3Resource

from orchestration.partitions import partition_key, partition_start
from orchestration.raw_zone import complete_until, fingerprint, hours_since
from orchestration.resources import LakeResource

HOUR = dt.timedelta(hours=1)
LOOKBACK = dt.timedelta(hours=6)  # hours behind the cursor re-checked for late files
GRACE = dt.timedelta(minutes=10)  # without a watermark, an hour counts as complete this long after its end


def raw_zone_sensor_for(job: dg.JobDefinition) -> dg.SensorDefinition:
    @dg.sensor(job=job, minimum_interval_seconds=10, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Runs an hour when its raw files change and the sink's watermark says it is complete "
                           "(or a 10-minute grace has passed). Run key: hour + digest of its files.")
    def raw_zone_sensor(context: dg.SensorEvaluationContext, s3: S3Resource, lake: LakeResource):
        state = json.loads(context.cursor) if context.cursor else {}
        client = s3.get_client()
        now = dt.datetime.now(dt.UTC)
        watermark = complete_until(client, lake.bucket, lake.connector, lake.topic)
        since = partition_start(state["next"]) - LOOKBACK if "next" in state else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        topic_prefix = f"{lake.topics_dir}/{lake.topic}/"
        seen: dict[str, str] = state.get("seen", {})
        next_open = None
        for hour in hours_since(client, lake.bucket, topic_prefix, since):
            key = partition_key(hour)
            done = (watermark is not None and watermark >= hour + HOUR) or now >= hour + HOUR + GRACE
            if not done:
                next_open = next_open or key
                continue
            prefix = f"{topic_prefix}year={hour:%Y}/month={hour:%m}/day={hour:%d}/hour={hour:%H}/"
            digest, files = fingerprint(client, lake.bucket, prefix)
            if seen.get(key) != digest:
                seen[key] = digest
                yield dg.RunRequest(run_key=f"{key}:{digest}", partition_key=key,
                                    tags={"sluice/raw_files": str(files)})
        latest = max((partition_start(k) for k in seen), default=None)
        cursor_hour = partition_start(next_open) if next_open else (latest + HOUR if latest else None)
        if cursor_hour is not None:
            keep = {k: v for k, v in seen.items() if partition_start(k) >= cursor_hour - LOOKBACK}
            context.update_cursor(json.dumps({"next": partition_key(cursor_hour), "seen": keep}))

    return raw_zone_sensor


@dg.run_failure_sensor(description="Logs every failed run with its step errors (hook your alerting here).",
                       default_status=dg.DefaultSensorStatus.RUNNING)
def run_failure_log(context: dg.RunFailureSensorContext):
    context.log.error("run %s of %s failed: %s", context.dagster_run.run_id, context.dagster_run.job_name,
                      context.failure_event.message)
