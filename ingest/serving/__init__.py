"""Serving from Cassandra as the DataStax Kafka sink does: its connector config (table mapping, login, TLS) and the
loads (schema, versioned writes) the Dagster assets and `sluice cassandra init` share."""
