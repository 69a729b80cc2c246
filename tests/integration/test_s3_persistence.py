"""The local lake is on disk (S3Proxy over .stack/data/s3): what S3 acknowledged survives `./dev down s3 &&
./dev up s3` and a SIGKILL of the server, read back byte for byte."""

import hashlib
import io

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from support.faults import dev, kill_mid_writes


def body_of(key: str, size: int) -> bytes:
    """Bytes that depend on the key, so a read of the wrong or a torn object cannot match."""
    seed = hashlib.sha256(key.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def listed(s3, bucket: str) -> dict[str, int]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}


@pytest.mark.disrupts_stack
def test_the_lake_survives_dev_down_and_up(s3, unique_name):
    bucket = unique_name
    s3.create_bucket(Bucket=bucket)
    small = "topics/events/year=2026/month=11/day=27/hour=10/events+0+0000000000.parquet"
    s3.put_object(Bucket=bucket, Key=small, Body=body_of(small, 4096), Metadata={"start-offset": "0"})
    big = "sluice/dlq/reprocessed.parquet"  # 12 MiB in 5 MiB parts: a multipart upload
    s3.upload_fileobj(io.BytesIO(body_of(big, 12 << 20)), bucket, big,
                      Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
    before = listed(s3, bucket)

    down = dev("down", "s3")
    assert down.returncode == 0 and "stopped" in down.stdout, down.stdout + down.stderr
    up = dev("up", "s3")
    assert up.returncode == 0 and "s3         ready" in up.stdout, up.stdout + up.stderr

    assert listed(s3, bucket) == before == {small: 4096, big: 12 << 20}
    got = s3.get_object(Bucket=bucket, Key=small)
    assert got["Body"].read() == body_of(small, 4096)
    assert got["Metadata"] == {"start-offset": "0"}
    assert s3.get_object(Bucket=bucket, Key=big)["Body"].read() == body_of(big, 12 << 20)


@pytest.mark.disrupts_stack
def test_a_sigkill_of_the_s3_server_loses_no_acknowledged_object(s3, connections, unique_name):
    bucket = unique_name
    s3.create_bucket(Bucket=bucket)
    # One attempt per PUT: a PUT either was acknowledged before the kill or failed, never retried across it.
    client = boto3.client("s3", endpoint_url=connections.s3_endpoint, region_name=connections.s3_region,
                          aws_access_key_id=connections.s3_access_key_id,
                          aws_secret_access_key=connections.s3_secret_access_key,
                          config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                                        connect_timeout=5, read_timeout=5))
    sent: dict[str, int] = {}  # key -> size, set before its PUT is sent
    acked: set[str] = set()

    def write(i: int) -> None:
        key, size = f"topics/events/part-{i:06d}.parquet", 1024 * (1 + i % 400)  # 1 KiB .. 400 KiB
        sent[key] = size
        client.put_object(Bucket=bucket, Key=key, Body=body_of(key, size))
        acked.add(key)

    kill_mid_writes("s3", write, acked, 200, errors=(BotoCoreError, ClientError))
    in_flight = list(sent)[-1]  # the PUT the kill cut short

    found = listed(s3, bucket)
    assert acked <= set(found), f"acknowledged but lost: {sorted(acked - set(found))[:5]}"
    # The PUT the kill cut short is whole or absent, never torn; no temporary file shows as an object.
    assert set(found) <= acked | {in_flight}, f"unexpected objects: {sorted(set(found) - acked)[:5]}"
    for key, size in found.items():
        assert size == sent[key], f"{key}: {size} bytes listed, {sent[key]} sent"
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body_of(key, size), key
