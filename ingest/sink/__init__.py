"""The Kafka -> S3 sink, split the way Kafka Connect's S3 sink is: partitioner, rotation, writers, task."""
