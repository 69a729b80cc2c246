"""The object store: S3 (or any S3 endpoint) through boto3, with the bucket checked up front.

A PUT that fails for a reason that can pass (the endpoint down or frozen, 5xx, throttling) is retried with
exponential backoff (`s3.retry.backoff.ms`, doubling up to 30 s) for up to `sluice.s3.retry.timeout.ms`; the task
waits meanwhile and commits nothing. Any other failure, or one that outlasts the timeout, is raised.

`put_new` and `put_over` are the conditional PUTs (If-None-Match, If-Match) that keep a member which lost its
partitions off the objects of their new owner (see fencing.py).
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
                   "Throttling", "ThrottlingException", "RequestTimeTooSkewed",
                   "ConditionalRequestConflict"}  # AWS's 409 while another conditional write of the key is under way
PRECONDITION_FAILED = {"PreconditionFailed", "412"}
ABSENT = {"NoSuchKey", "NotFound", "404"}


def _code(exc: BaseException | None) -> str:
    return exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""


def json_body(document: dict) -> bytes:
    return json.dumps(document, indent=2, sort_keys=True).encode()


def transient(exc: Exception) -> bool:
    """A failure that can pass: no answer (connection refused, timeouts) or a 5xx / throttling answer."""
    if isinstance(exc, ClientError):
        return _code(exc) in TRANSIENT_CODES
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
        self._put(key, body)

    def put_new(self, key: str, body: bytes) -> bool:
        """PUT only if the key holds nothing (If-None-Match: *, atomic on S3 and S3Proxy); False if it does."""
        return self._put(key, body, IfNoneMatch="*")

    def put_over(self, key: str, body: bytes, etag: str) -> bool:
        """PUT only if the key still holds the object of `etag` (If-Match); False if it changed or is gone."""
        return self._put(key, body, IfMatch=etag)

    def etag(self, key: str) -> str | None:
        """The ETag of the object at `key`, None if there is none."""
        try:
            return self._retrying(f"HEAD s3://{self.bucket}/{key}",
                                  lambda: self.client.head_object(Bucket=self.bucket, Key=key))["ETag"]
        except SluiceError as exc:
            if _code(exc.__cause__) in ABSENT:
                return None
            raise

    def put_json(self, key: str, document: dict) -> None:
        self.put(key, json_body(document))

    def put_json_new(self, key: str, document: dict) -> bool:
        return self.put_new(key, json_body(document))

    def put_json_over(self, key: str, document: dict, etag: str) -> bool:
        return self.put_over(key, json_body(document), etag)

    def get_json(self, key: str) -> dict | None:
        found = self.get_json_tagged(key)
        return None if found is None else found[0]

    def get_json_tagged(self, key: str) -> tuple[dict, str] | None:
        """The document at `key` and its ETag (for a PUT conditional on it), None if there is none."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in ABSENT:
                return None
            raise
        return json.loads(answer["Body"].read()), answer["ETag"]

    def _put(self, key: str, body: bytes, **condition: str) -> bool:
        """A PUT, retried while it fails for a reason that can pass; False if its `condition` did not hold."""
        try:
            self._retrying(f"PUT s3://{self.bucket}/{key}",
                           lambda: self.client.put_object(Bucket=self.bucket, Key=key, Body=body, **condition))
        except SluiceError as exc:
            if condition and _code(exc.__cause__) in PRECONDITION_FAILED | ABSENT:  # If-Match on a key now gone: 404
                return False
            raise
        return True

    def _retrying(self, what: str, call):
        """`call()`, tried again with a growing pause while it fails for a reason that can pass (see module)."""
        began, attempt = time.monotonic(), 0
        while True:
            try:
                answer = call()
                if attempt:
                    log.info("%s succeeded after %d retries", what, attempt)
                return answer
            except (ClientError, BotoCoreError) as exc:
                waited_ms = (time.monotonic() - began) * 1000
                if not transient(exc) or waited_ms >= self.retry_timeout_ms:
                    raise SluiceError(f"{what} failed after {attempt} retries ({waited_ms / 1000:.0f}s): "
                                      f"{exc}") from exc
                delay = min(self.retry_backoff_ms * 2 ** attempt, 30_000, self.retry_timeout_ms - waited_ms)
                if attempt == 0 or attempt % 10 == 0:
                    log.warning("%s failed (%s); retrying for up to %.0fs", what, exc,
                                (self.retry_timeout_ms - waited_ms) / 1000)
                attempt += 1
                self.sleep(max(delay, 0) / 1000)
