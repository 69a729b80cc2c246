"""Sluice's Dagster code location: raw zone -> dbt models -> Cassandra, with sensors, jobs and schedules.

`defs` is loaded by `dagster dev -w workspace.yaml` and `dg` (`[tool.dg]` in pyproject.toml); Dagster calls it
when it loads the code location, so importing this module reads no manifest, no environment and no `.stack/env`.
Tests and scripts call it: `defs().resolve_job_def("hourly_flow")`.
"""

import dagster as dg

from ingest.lake.names import LakeNames
from orchestration.assets.cassandra import cassandra_events_by_time, cassandra_hourly_event_counts
from orchestration.assets.dbt import dbt_models
from orchestration.assets.raw import raw_events
from orchestration.jobs import daily_aggregates, dlq_reprocess, hourly_flow
from orchestration.resources import default_resources
from orchestration.schedules import daily_aggregates_schedule
from orchestration.sensors import dlq_growth_sensor_for, raw_zone_sensor_for, run_failure_log, run_worker_watchdog


@dg.definitions
def defs() -> dg.Definitions:
    """The assets, jobs, schedules, sensors and resources, the resources bound from the environment."""
    return dg.Definitions(
        assets=[raw_events, dbt_models(), cassandra_events_by_time, cassandra_hourly_event_counts],
        jobs=[hourly_flow, daily_aggregates, dlq_reprocess],
        schedules=[daily_aggregates_schedule],
        sensors=[raw_zone_sensor_for(hourly_flow), run_failure_log, run_worker_watchdog,
                 dlq_growth_sensor_for(dlq_reprocess, LakeNames.from_env().dlq_topic)],
        resources=default_resources(),
    )
