"""Plain helpers of the orchestration, without Dagster: windows, dbt arguments, the raw-zone sensor's
decisions, Cassandra mapping and loading. Unit tests pin them to exact values."""
