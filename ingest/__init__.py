"""Sluice ingest: plain Python for Kafka -> S3 and the clients of the services it talks to."""
