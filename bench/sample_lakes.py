"""What the benches that run the hourly flow share: a ledger sample lake on fresh names, and dropping it after.

    from sample_lakes import build_lake, cleanup, print_goal, print_kept
"""

from __future__ import annotations

import time

from ingest.cassandra_client import cassandra_cluster
from ingest.clients import ensure_topic, kafka_admin, s3_client
from ingest.connections import Connections
from ingest.lake.names import LakeNames
from ingest.sample_lake import write_sample_lake
from orchestration.resources import default_resources

PARTITIONS = 2


def build_lake(connections: Connections, name: str, keyspace: str, hours: int, start_ms: int,
               per_hour: int) -> dict:
    """A sample lake of `hours` hours from `start_ms` with its sink's ledger (bucket, topic: `name`; sink
    `<name>-sink`), its topic created empty in Kafka, and resources for a keyspace of its own."""
    began = time.monotonic()
    lake = write_sample_lake(connections, name, name, hours, start_ms, per_hour * hours, partitions=PARTITIONS,
                             seed=7, ledger=f"{name}-sink")
    seconds = time.monotonic() - began
    ensure_topic(connections, name, PARTITIONS)
    names = LakeNames(bucket=name, topic=name, dlq_topic=f"{name}-dlq", connector=f"{name}-sink")
    return {"names": names, "keyspace": keyspace, "lake": lake, "write_s": seconds,
            "resources": default_resources(connections, lake=names, keyspace=keyspace)}


def cleanup(connections: Connections, lakes: list[dict]) -> None:
    """Drop the lakes' buckets, topics and keyspaces."""
    client = s3_client(connections)
    for lake in lakes:
        bucket = lake["names"].bucket
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        client.delete_bucket(Bucket=bucket)
    admin = kafka_admin(connections)
    for future in admin.delete_topics([lake["names"].topic for lake in lakes]).values():
        future.result(timeout=30)
    cluster = cassandra_cluster(connections)
    session = cluster.connect()
    for lake in lakes:
        session.execute(f"DROP KEYSPACE IF EXISTS {lake['keyspace']}", timeout=120)
    cluster.shutdown()


def print_goal(label: str, ratio: float, goal: float) -> None:
    print(f"ratio {label}: {ratio:.2f} (goal <= {goal}): {'met' if ratio <= goal else 'NOT met'}")


def print_kept(lakes: list[dict]) -> None:
    """What --keep left in place."""
    print("kept: " + ", ".join(f"bucket/topic {lake['names'].bucket}, keyspace {lake['keyspace']}" for lake in lakes))
