"""The object store: S3 (or any S3 endpoint) through boto3, with the bucket checked up front."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from ingest.clients import s3_client
from ingest.connections import Connections
from ingest.errors import SluiceError


class Storage:
    def __init__(self, connections: Connections, bucket: str):
        self.bucket = bucket
        self.client = s3_client(connections)

    def ensure_bucket(self, create: bool) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in ("404", "NoSuchBucket") or not create:
                raise SluiceError(
                    f"bucket '{self.bucket}' is not reachable ({exc.response['Error']['Code']}); "
                    "create it first, or pass --create-bucket"
                ) from None
            self.client.create_bucket(Bucket=self.bucket)

    def put(self, key: str, body: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body)

    def put_json(self, key: str, document: dict) -> None:
        self.put(key, json.dumps(document, indent=2, sort_keys=True).encode())

    def get_json(self, key: str) -> dict | None:
        try:
            return json.loads(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise
