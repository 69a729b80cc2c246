"""The local stack: real Kafka, Cassandra and S3 (S3Proxy) on loopback, started and stopped by `./dev`."""
