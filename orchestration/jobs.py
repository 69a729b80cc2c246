"""Jobs and schedules: the hourly flow raw -> dbt -> Cassandra, and the daily rebuild of the aggregates."""

import datetime as dt

import dagster as dg

from orchestration.partitions import partition_key

hourly_flow = dg.define_asset_job(
    "hourly_flow", selection=dg.AssetSelection.assets("raw_events").downstream(),
    description="One hour (or a range, as one run) from the raw zone through dbt into Cassandra.",
)

daily_aggregates = dg.define_asset_job(
    "daily_aggregates",
    selection=dg.AssetSelection.assets("hourly_event_counts", "cassandra_hourly_event_counts"),
    description="Rebuilds yesterday's hourly aggregates in the lake and Cassandra, 24 hours in one run.",
)


@dg.schedule(job=daily_aggregates, cron_schedule="30 1 * * *", execution_timezone="UTC",
             description="At 01:30 UTC: yesterday's 24 hourly aggregates, in one run (late events included).")
def daily_aggregates_schedule(context: dg.ScheduleEvaluationContext):
    day = context.scheduled_execution_time.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first, last = day - dt.timedelta(days=1), day - dt.timedelta(hours=1)
    return dg.RunRequest(run_key=f"daily-{first:%Y-%m-%d}", tags={
        "dagster/asset_partition_range_start": partition_key(first),
        "dagster/asset_partition_range_end": partition_key(last),
    })
