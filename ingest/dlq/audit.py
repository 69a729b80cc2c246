"""The audit trail of DLQ reprocessing: one JSON-lines object per run in S3, one line per dead letter read.

Objects sit under `s3://{bucket}/{prefix}/date=YYYY-MM-DD/run-<run id>.jsonl` (the run's UTC start date), so a
later question ("where did DLQ offset 1234 go?") is one DuckDB query over `{prefix}/*/*.jsonl`, with no
database to keep. Every line has every field (nulls included), so the files share one schema.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from ingest.connections import Connections
from ingest.sink.storage import Storage
from ingest.timefmt import compact, utc

DEFAULT_PREFIX = "_sluice/dlq-audit"
FIELDS = ("run_id", "dlq_topic", "dlq_partition", "dlq_offset", "source_topic", "source_partition",
          "source_offset", "outcome", "rule", "reason", "parked_reason", "new_topic", "new_partition",
          "new_offset", "at")


def new_run_id(ms: int) -> str:
    """Sortable by start time, unique across concurrent runs."""
    return compact(ms) + "-" + uuid.uuid4().hex[:8]


def audit_key(prefix: str, run_id: str, started_ms: int) -> str:
    date = utc(started_ms).strftime("%Y-%m-%d")
    return f"{prefix.strip('/')}/date={date}/run-{run_id}.jsonl"


def audit_glob(bucket: str, prefix: str = DEFAULT_PREFIX) -> str:
    """The path to give DuckDB's read_json_auto to read every run's audit lines."""
    return f"s3://{bucket}/{prefix.strip('/')}/*/*.jsonl"


class AuditTrail:
    def __init__(self, connections: Connections, bucket: str, prefix: str = DEFAULT_PREFIX):
        self.storage = Storage(connections, bucket)
        self.prefix = prefix

    def check(self) -> None:
        """Fail before anything is consumed or produced if the bucket is not there (a run must be auditable)."""
        self.storage.ensure_bucket(create=False)

    def write(self, run_id: str, started_ms: int, rows: Sequence[dict]) -> str:
        """Write the run's lines in one object (one PUT: a run's audit is all there or not at all); its key."""
        key = audit_key(self.prefix, run_id, started_ms)
        body = "".join(json.dumps({f: row.get(f) for f in FIELDS}, ensure_ascii=False) + "\n" for row in rows)
        self.storage.put(key, body.encode())
        return key
