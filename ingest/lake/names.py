"""The lake's default names, defined once, and the SLUICE_* variables that override them.

The dbt project reads the same variables (`dbt_project.yml` vars); `config/s3-sink.json` is the user's own
connector config and names its bucket and DLQ itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

BUCKET = "data-lake"
TOPIC = "events"
DLQ_TOPIC = "events-dlq"
CONNECTOR = "s3-sink"
TOPICS_DIR = "topics"
LANDED_DIR = "landed"
CURATED_DIR = "curated"


@dataclass(frozen=True)
class LakeNames:
    bucket: str = BUCKET
    topic: str = TOPIC
    dlq_topic: str = DLQ_TOPIC
    connector: str = CONNECTOR  # the sink's `name`: its watermarks are under _sluice/<connector>/

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> LakeNames:
        """SLUICE_LAKE_BUCKET, SLUICE_LAKE_TOPIC, SLUICE_DLQ_TOPIC, SLUICE_SINK_NAME, else the defaults."""
        env = os.environ if environ is None else environ
        return cls(env.get("SLUICE_LAKE_BUCKET", BUCKET), env.get("SLUICE_LAKE_TOPIC", TOPIC),
                   env.get("SLUICE_DLQ_TOPIC", DLQ_TOPIC), env.get("SLUICE_SINK_NAME", CONNECTOR))
