"""Sluice's Dagster code location: raw zone -> dbt models -> Cassandra, with sensors, jobs and schedules."""

import dagster as dg

from orchestration.assets import cassandra_events_by_time, cassandra_hourly_event_counts, raw_events
from orchestration.dbt import sluice_dbt_models
from orchestration.dlq_job import dlq_growth_sensor_for, dlq_reprocess
from orchestration.jobs import daily_aggregates, daily_aggregates_schedule, hourly_flow
from orchestration.resources import default_resources, env
from orchestration.sensors import raw_zone_sensor_for, run_failure_log

defs = dg.Definitions(
    assets=[raw_events, sluice_dbt_models, cassandra_events_by_time, cassandra_hourly_event_counts],
    jobs=[hourly_flow, daily_aggregates, dlq_reprocess],
    schedules=[daily_aggregates_schedule],
    sensors=[raw_zone_sensor_for(hourly_flow), run_failure_log,
             dlq_growth_sensor_for(env("SLUICE_DLQ_TOPIC", "events-dlq"))],
    resources=default_resources(),
)
