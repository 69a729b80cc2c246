"""The settings of a sink task's consumer: the connector's group, offsets committed by the task, and the
connector's `consumer.override.*` keys last."""

from __future__ import annotations

from ingest.clients import FETCH_SETTINGS
from ingest.config import SinkConfig


def consumer_settings(config: SinkConfig, task_id: int, instance_id: str | None) -> dict:
    settings = {
        "group.id": config.group_id, "enable.auto.commit": False, "auto.offset.reset": "earliest",
        "enable.partition.eof": False, "client.id": f"{config.name}-{task_id}", **FETCH_SETTINGS,
    }
    if str(config.consumer_overrides.get("group.protocol", "classic")).lower() == "classic":
        # The classic protocol's liveness is the client's to set; under KIP-848 (consumer.override.group.protocol
        # =consumer) the broker sets it and librdkafka refuses these keys.
        settings |= {"session.timeout.ms": 10_000, "heartbeat.interval.ms": 2_000}
    settings |= config.consumer_overrides
    if instance_id:
        # Static membership: a restarted task takes its partitions back at once, without a rebalance,
        # and a second process with the same id is fenced instead of writing beside it.
        settings["group.instance.id"] = f"{instance_id}-{task_id}"
    return settings
