"""The code location's graph, pinned: assets and their deps, checks, jobs, schedules, sensors, partitions.

Any change to what Dagster shows of the graph fails here with a diff against graph.snapshot.json. When the change
is meant, refresh the snapshot and review its diff with the code:
    SLUICE_UPDATE_SNAPSHOTS=1 python -m pytest tests/unit/orchestration/test_graph_snapshot.py
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import dagster as dg
import pytest

SNAPSHOT = Path(__file__).with_name("graph.snapshot.json")
REFRESH = "SLUICE_UPDATE_SNAPSHOTS=1 python -m pytest tests/unit/orchestration/test_graph_snapshot.py"


@pytest.fixture(scope="module")
def defs() -> Iterator[dg.Definitions]:
    from orchestration.definitions import defs

    with mock.patch.dict(os.environ):  # resources bound from .stack/env export its secrets: not to other tests
        yield defs()


def partitions(partitions_def: dg.PartitionsDefinition | None) -> str | None:
    if partitions_def is None:
        return None
    if not isinstance(partitions_def, dg.TimeWindowPartitionsDefinition):
        return str(partitions_def)
    end = f" to {partitions_def.end.isoformat()}" if partitions_def.end else ""
    return (f"cron '{partitions_def.cron_schedule}' {partitions_def.timezone}, "
            f"from {partitions_def.start.isoformat()}{end}, keys {partitions_def.fmt}")


def names(keys) -> list[str]:
    return sorted(key.to_user_string() for key in keys)


def graph_snapshot(defs: dg.Definitions) -> dict:
    """What the UI draws, from the public API, sorted: nothing that depends on the environment or the host."""
    graph = defs.resolve_asset_graph()
    repository = defs.get_repository_def()
    assets = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "op": node.assets_def.node_def.name,
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "deps": names(node.parent_keys),
            "partitions": partitions(node.partitions_def),
            "backfill_policy": str(node.backfill_policy) if node.backfill_policy else None,
            "checks": {check.name: partitions(graph.get(check).partitions_def) for check in node.check_keys},
        }
    jobs = {}
    for job in defs.jobs:
        resolved = defs.resolve_job_def(job.name)
        selection = getattr(job, "selection", None)  # an asset job's; an op job has none
        jobs[job.name] = {"assets": names(selection.resolve(graph)) if selection else [],
                          "ops": sorted(node.name for node in resolved.nodes_in_topological_order),
                          "executor": resolved.executor_def.name}
    schedules = {s.name: {"job": s.job_name, "cron": s.cron_schedule, "timezone": s.execution_timezone,
                          "default_status": s.default_status.value} for s in repository.schedule_defs}
    sensors = {s.name: {"job": s.job_name if s.has_jobs else None, "type": s.sensor_type.value,
                        "minimum_interval_seconds": s.minimum_interval_seconds,
                        "default_status": s.default_status.value} for s in repository.sensor_defs}
    return {"repository": repository.name, "assets": assets, "jobs": jobs, "schedules": schedules,
            "sensors": sensors, "resources": sorted(defs.resources)}


def as_text(snapshot: dict) -> str:
    return json.dumps(snapshot, indent=2, sort_keys=True) + "\n"


def test_the_asset_graph_matches_its_snapshot(defs):
    actual = as_text(graph_snapshot(defs))
    if os.environ.get("SLUICE_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(actual)
    expected = SNAPSHOT.read_text() if SNAPSHOT.exists() else ""
    diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                        str(SNAPSHOT.name), "the code location now"))
    if diff:
        pytest.fail(f"the code location's graph changed; if that is meant, refresh the snapshot: {REFRESH}\n{diff}",
                    pytrace=False)
