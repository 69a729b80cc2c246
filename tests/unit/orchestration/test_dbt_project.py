import datetime as dt
import json
import sys
from pathlib import Path

from ingest.lake.names import LakeNames
from orchestration import dbt_project as module
from orchestration.lib.dbt_args import dbt_build_args, dbt_vars
from orchestration.resources import LakeResource

HOUR = (dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC), dt.datetime(2024, 1, 15, 11, tzinfo=dt.UTC))
ARGS = module.prepare_args(LakeNames())


class Recorder:
    def __init__(self):
        self.calls = 0

    def prepare_if_dev(self):
        self.calls += 1


def test_outside_dagster_dev_nothing_is_parsed(monkeypatch):
    recorder = Recorder()
    monkeypatch.delenv("DAGSTER_IS_DEV_CLI", raising=False)
    monkeypatch.delenv("SLUICE_DBT_PREPARED", raising=False)
    module.prepare_if_dev(recorder, ARGS)
    assert recorder.calls == 0


def test_under_dagster_dev_the_project_is_prepared_once_per_process_tree(monkeypatch):
    recorder, reparsed = Recorder(), []
    monkeypatch.setattr(module, "reparse_seeds", lambda project, args: reparsed.append((recorder.calls, args)))
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    monkeypatch.setenv("SLUICE_DBT_PREPARED", "")  # restored (unset) after the test
    module.prepare_if_dev(recorder, ARGS)
    module.prepare_if_dev(recorder, ARGS)  # a run or step process started from the code location inherits the flag
    assert recorder.calls == 1
    assert reparsed == [(1, ARGS)]  # after dagster-dbt's preparation, with the same --vars
    assert module.os.environ["SLUICE_DBT_PREPARED"] == "1"


def test_the_venvs_dbt_is_put_on_path_only_while_it_is_missing(monkeypatch):
    monkeypatch.setenv("PATH", "/nowhere")
    assert module.dbt_on_path() == {"PATH": f"{Path(sys.executable).parent}:/nowhere"}
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    assert module.dbt_on_path() == {}


def test_the_project_reads_the_repositorys_dbt_project():
    project = module.dbt_project()
    assert project is module.dbt_project()  # built once per process
    assert project.project_dir.name == "dbt_project"
    assert project.manifest_path == project.project_dir / "target" / "manifest.json"


def test_the_manifest_is_prepared_with_the_vars_of_the_hourly_runs():
    """Equal --vars: a run's dbt reuses the prepared partial_parse.msgpack instead of parsing everything again."""
    lake = LakeNames(bucket="lake-b", topic="clicks")
    resource = LakeResource(bucket=lake.bucket, topic=lake.topic, connector=lake.connector)
    run = dbt_build_args(dbt_vars(*HOUR, resource.bucket, resource.landed_dir, resource.topic))
    prepare = module.prepare_args(lake)
    assert prepare[:2] == ["parse", "--quiet"]
    assert json.loads(prepare[prepare.index("--vars") + 1]) == json.loads(run[run.index("--vars") + 1])
