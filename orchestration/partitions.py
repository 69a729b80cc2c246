"""The hourly UTC partitions, defined once, at the grain of the sink's `path.format` (year=/month=/day=/hour=)."""

import dagster as dg

from orchestration.lib.windows import hours_of

hourly = dg.HourlyPartitionsDefinition(start_date="2024-01-01-00:00", timezone="UTC")

# every hourly asset: a range of partitions (a backfill) runs as one run over its window
hourly_asset_args = {"partitions_def": hourly, "backfill_policy": dg.BackfillPolicy.single_run()}


def window_hours(context: dg.AssetExecutionContext) -> list:
    """The UTC hours of the run's partition window (one, or a backfill's range)."""
    window = context.partition_time_window
    return hours_of(window.start, window.end)
