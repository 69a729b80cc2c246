"""Schedules: the daily rebuild of yesterday's hourly aggregates."""

import datetime as dt

import dagster as dg

from orchestration.jobs import daily_aggregates
from orchestration.lib.windows import partition_key


@dg.schedule(job=daily_aggregates, cron_schedule="30 1 * * *", execution_timezone="UTC",
             description="At 01:30 UTC: yesterday's 24 hourly aggregates, in one run (late events included).")
def daily_aggregates_schedule(context: dg.ScheduleEvaluationContext):
    day = context.scheduled_execution_time.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first, last = day - dt.timedelta(days=1), day - dt.timedelta(hours=1)
    return dg.RunRequest(run_key=f"daily-{first:%Y-%m-%d}", tags={
        "dagster/asset_partition_range_start": partition_key(first),
        "dagster/asset_partition_range_end": partition_key(last),
    })
