from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import NewTopic

from ingest.clients import kafka_config


def test_produced_messages_are_consumed_in_order_with_keys_and_headers(kafka, connections, unique_name):
    topic = unique_name
    kafka.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(timeout=30)

    producer = Producer(kafka_config(connections, acks="all", **{"enable.idempotence": True}))
    sent = [(f"k{i}".encode(), f'{{"n": {i}}}'.encode()) for i in range(3)]
    for key, value in sent:
        producer.produce(topic, key=key, value=value, headers=[("source", b"test")])
    assert producer.flush(30) == 0

    consumer = Consumer(
        kafka_config(
            connections,
            **{
                "group.id": f"{topic}-group",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            },
        )
    )
    consumer.subscribe([topic])
    received = []
    try:
        while len(received) < len(sent):
            msg = consumer.poll(30)
            assert msg is not None, f"only {len(received)} of {len(sent)} messages arrived"
            assert msg.error() is None, msg.error()
            received.append(msg)
        consumer.commit(message=received[-1], asynchronous=False)
        committed = consumer.committed([TopicPartition(topic, 0)], timeout=30)[0].offset
    finally:
        consumer.close()

    assert [(m.key(), m.value()) for m in received] == sent
    assert [m.offset() for m in received] == [0, 1, 2]
    assert all(m.headers() == [("source", b"test")] for m in received)
    assert committed == 3
