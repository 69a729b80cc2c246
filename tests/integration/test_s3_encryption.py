"""Server-side encryption reaches every object Sluice writes: the sink's files, manifests, hour index, watermarks and
schema document (boto3), and a landed hour (DuckDB). The stack's S3Proxy refuses SSE headers (501 "Server-side
encryption is not supported"), so the lake here is moto's S3 server, which keeps each object's encryption and
answers it on HEAD; Kafka is the stack's."""

from __future__ import annotations

import socket

import pytest
from moto.server import ThreadedMotoServer

from ingest.clients import s3_client
from ingest.connections import S3Settings
from ingest.lake.connection import lake_connection
from support.sink import object_keys, produce_events, run_sink, sink_config

KEY_ID = "arn:aws:kms:us-east-1:123456789012:key/sluice-test"


@pytest.fixture(scope="module")
def moto_s3():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def encryption_of_every_object(client, bucket: str) -> dict[str, tuple[str | None, str | None]]:
    heads = {key: client.head_object(Bucket=bucket, Key=key) for key in object_keys(client, bucket)}
    return {key: (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")) for key, head in heads.items()}


def test_the_sink_asks_for_sse_kms_on_every_object_it_writes(tmp_path, connections, kafka, moto_s3, names):
    produce_events(connections, names["topic"], 300, partitions=2, bad_ratio=0.05, seed=7)
    config = sink_config(tmp_path, names["name"], topics=names["topic"], **{
        "s3.bucket.name": names["bucket"], "store.url": moto_s3, "aws.access.key.id": "testing",
        "aws.secret.access.key": "testing", "s3.ssea.name": "aws:kms", "s3.sse.kms.key.id": KEY_ID,
        "timestamp.extractor": "RecordField", "timestamp.field": "event_time", "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": names["dlq"]})
    done = run_sink(config)
    assert done.returncode == 0, done.stdout[-3000:]

    client = s3_client(S3Settings(moto_s3, access_key_id="testing", secret_access_key="testing"))
    found = encryption_of_every_object(client, names["bucket"])
    kinds = {key.split("/")[0] if key.startswith("topics/") else key.split("/")[2] for key in found}
    assert {"topics", "ledger", "watermarks"} <= kinds, sorted(found)  # data files and the sink's own documents
    assert {key for key, sse in found.items() if sse != ("aws:kms", KEY_ID)} == set()


def test_duckdb_writes_with_the_kms_key_and_boto3_with_aes256(moto_s3, unique_name):
    settings = S3Settings(moto_s3, access_key_id="testing", secret_access_key="testing", sse="aws:kms",
                          sse_kms_key_id=KEY_ID)
    client = s3_client(settings)
    client.create_bucket(Bucket=unique_name)
    con = lake_connection(settings)
    try:
        con.execute(f"copy (select 1 as x) to 's3://{unique_name}/landed/hour.parquet' (format parquet)")
    finally:
        con.close()
    aes = s3_client(S3Settings(moto_s3, access_key_id="testing", secret_access_key="testing", sse="AES256"))
    aes.put_object(Bucket=unique_name, Key="marker.json", Body=b"{}")
    assert encryption_of_every_object(client, unique_name) == {
        "landed/hour.parquet": ("aws:kms", KEY_ID), "marker.json": ("AES256", None)}
