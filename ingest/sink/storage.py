"""The object store: S3 (or any S3 endpoint) through boto3, with the bucket checked up front.

A PUT that fails for a reason that can pass (the endpoint down or frozen, 5xx, throttling) is retried with
exponential backoff (`s3.retry.backoff.ms`, doubling up to 30 s) for up to `sluice.s3.retry.timeout.ms`; the task
waits meanwhile and commits nothing. Any other failure, or one that outlasts the timeout, is raised.
"""

from __future__ import annotations

import json
import logging
import time

from botocore.exceptions import BotoCoreError, ClientError

from ingest.clients import s3_client
from ingest.connections import Connections
from ingest.errors import SluiceError

log = logging.getLogger("sluice.sink")
TRANSIENT_CODES = {"500", "502", "503", "504", "InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout",
                   "Throttling", "ThrottlingException", "RequestTimeTooSkewed"}


def transient(exc: Exception) -> bool:
    """A failure that can pass: no answer (connection refused, timeouts) or a 5xx / throttling answer."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "") in TRANSIENT_CODES
    return isinstance(exc, BotoCoreError)


class Storage:
    def __init__(self, connections: Connections, bucket: str, retry_backoff_ms: int = 200,
                 retry_timeout_ms: int = 600_000, sleep=time.sleep, timeout: float = 60.0):
        self.bucket = bucket
        self.client = s3_client(connections, timeout=timeout)
        self.retry_backoff_ms, self.retry_timeout_ms, self.sleep = retry_backoff_ms, retry_timeout_ms, sleep

    def ensure_bucket(self, create: bool) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket") or not create:
                raise SluiceError(
                    f"bucket '{self.bucket}' is not reachable ({exc.response['Error']['Code']}); "
                    "create it first, or pass --create-bucket"
                ) from None
            try:
                self.client.create_bucket(Bucket=self.bucket)
            except ClientError as exc:  # another sink of the group created it meanwhile
                if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                    raise

    def put(self, key: str, body: bytes) -> None:
        began, attempt = time.monotonic(), 0
        while True:
            try:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body)
                if attempt:
                    log.info("PUT s3://%s/%s succeeded after %d retries", self.bucket, key, attempt)
                return
            except (ClientError, BotoCoreError) as exc:
                waited_ms = (time.monotonic() - began) * 1000
                if not transient(exc) or waited_ms >= self.retry_timeout_ms:
                    raise SluiceError(f"PUT s3://{self.bucket}/{key} failed after {attempt} retries "
                                      f"({waited_ms / 1000:.0f}s): {exc}") from exc
                delay = min(self.retry_backoff_ms * 2 ** attempt, 30_000, self.retry_timeout_ms - waited_ms)
                if attempt == 0 or attempt % 10 == 0:
                    log.warning("PUT s3://%s/%s failed (%s); retrying for up to %.0fs", self.bucket, key, exc,
                                (self.retry_timeout_ms - waited_ms) / 1000)
                attempt += 1
                self.sleep(max(delay, 0) / 1000)

    def put_json(self, key: str, document: dict) -> None:
        self.put(key, json.dumps(document, indent=2, sort_keys=True).encode())

    def get_json(self, key: str) -> dict | None:
        try:
            return json.loads(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
