"""The local stack: real Kafka, Cassandra, S3 (S3Proxy) and a schema registry (Apicurio) on loopback, started and
stopped by `./dev`."""
