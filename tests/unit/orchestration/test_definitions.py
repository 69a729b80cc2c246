import importlib

import dagster as dg
import yaml

from ingest.connections import REPO_ROOT


def test_workspace_points_at_a_loadable_code_location():
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text())
    module_name = workspace["load_from"][0]["python_module"]["module_name"]

    defs = importlib.import_module(module_name).defs

    assert isinstance(defs, dg.Definitions)
    dg.Definitions.validate_loadable(defs)


def test_asset_jobs_run_their_steps_in_the_run_process():
    from orchestration.jobs import daily_aggregates, hourly_flow

    for job in (hourly_flow, daily_aggregates):
        assert job.executor_def is dg.in_process_executor, job.name
