"""The local stack: real Kafka, Cassandra and S3 (moto) on loopback, started and stopped by `./dev`."""
