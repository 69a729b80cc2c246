"""The dbt command line of an hourly run: the lake's names as `--vars`, the window in the environment.

dbt parses the project again in full whenever its `--vars` differ from the ones the prepared manifest
(target/partial_parse.msgpack) was parsed with: ~4 s of every hourly run on two cores. So the `--vars` of a run
are the deployment's constants, the same the manifest is prepared with (`lake_vars`, orchestration/dbt_project.py),
and the window, which changes every run, travels in SLUICE_DBT_WINDOW_START/END: the models read it at execution
time only (macro `window_vars()`), so partial parsing never sees it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ingest.timefmt import iso_seconds

WINDOW_ENV = ("SLUICE_DBT_WINDOW_START", "SLUICE_DBT_WINDOW_END")


def dbt_vars(start: dt.datetime, end: dt.datetime, bucket: str, landed_dir: str, topic: str) -> dict[str, str]:
    """What the models read (dbt_project.yml documents each var): the window and where the landed hours are."""
    return {"window_start": iso_seconds(start), "window_end": iso_seconds(end), **lake_vars(bucket, landed_dir, topic)}


def lake_vars(bucket: str, landed_dir: str, topic: str) -> dict[str, str]:
    """Where the landed hours are: the same for every run of a deployment, so the `--vars` never change."""
    return {"lake_bucket": bucket, "raw_root": landed_dir, "raw_topic": topic}


def window_env(variables: dict[str, str]) -> dict[str, str]:
    """The window of `dbt_vars` as the environment variables the models read it from at execution time."""
    return dict(zip(WINDOW_ENV, (variables["window_start"], variables["window_end"]), strict=True))


def dbt_build_args(variables: dict[str, str]) -> list[str]:
    """`dbt build` without dbt's unit tests (they run in the test suite, not in every hourly run), with the
    variables that are not the window as `--vars` (the window: `window_env`)."""
    constant = {k: v for k, v in variables.items() if k not in ("window_start", "window_end")}
    return ["build", "--exclude-resource-type", "unit_test", "--vars", json.dumps(constant, sort_keys=True)]


_ENVIRON = threading.Lock()


@contextmanager
def environ(extra: dict[str, str]) -> Iterator[None]:
    """`extra` in os.environ while the block runs (dagster-dbt hands dbt a copy of os.environ when it starts it),
    then the previous values back. One block at a time per process: two runs in one process (threads, as
    `materialize` in tests may run them) would otherwise start dbt with each other's window."""
    with _ENVIRON:
        saved = {key: os.environ.get(key) for key in extra}
        os.environ.update(extra)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
