"""The dbt command line of an hourly run: the window and the lake's names as `--vars`."""

from __future__ import annotations

import datetime as dt
import json

from ingest.timefmt import iso_seconds


def dbt_vars(start: dt.datetime, end: dt.datetime, bucket: str, landed_dir: str, topic: str) -> dict[str, str]:
    """What the models read (dbt_project.yml documents each var): the window and where the landed hours are."""
    return {"window_start": iso_seconds(start), "window_end": iso_seconds(end), "lake_bucket": bucket,
            "raw_root": landed_dir, "raw_topic": topic}


def dbt_build_args(variables: dict[str, str]) -> list[str]:
    """`dbt build` without dbt's unit tests: they run in the test suite, not in every hourly run."""
    return ["build", "--exclude-resource-type", "unit_test", "--vars", json.dumps(variables)]
