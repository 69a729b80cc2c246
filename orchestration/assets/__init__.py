"""Assets by stage: raw (the landed raw zone), dbt (the models), cassandra (serving)."""
