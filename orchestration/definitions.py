"""Sluice's Dagster code location: raw zone -> dbt models -> Cassandra, with sensors, jobs and schedules."""

import dagster as dg

from ingest.lake.names import LakeNames
from orchestration.assets.cassandra import cassandra_events_by_time, cassandra_hourly_event_counts
from orchestration.assets.dbt import sluice_dbt_models
from orchestration.assets.raw import raw_events
from orchestration.jobs import daily_aggregates, dlq_reprocess, hourly_flow
from orchestration.resources import default_resources
from orchestration.schedules import daily_aggregates_schedule
from orchestration.sensors import dlq_growth_sensor_for, raw_zone_sensor_for, run_failure_log, run_worker_watchdog

defs = dg.Definitions(
    assets=[raw_events, sluice_dbt_models, cassandra_events_by_time, cassandra_hourly_event_counts],
    jobs=[hourly_flow, daily_aggregates, dlq_reprocess],
    schedules=[daily_aggregates_schedule],
    sensors=[raw_zone_sensor_for(hourly_flow), run_failure_log, run_worker_watchdog,
             dlq_growth_sensor_for(dlq_reprocess, LakeNames.from_env().dlq_topic)],
    resources=default_resources(),
)
