from orchestration import dbt_project as module


class Recorder:
    def __init__(self):
        self.calls = 0

    def prepare_if_dev(self):
        self.calls += 1


def test_outside_dagster_dev_nothing_is_parsed(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(module, "dbt_project", recorder)
    monkeypatch.delenv("DAGSTER_IS_DEV_CLI", raising=False)
    monkeypatch.delenv("SLUICE_DBT_PREPARED", raising=False)
    module.prepare_if_dev()
    assert recorder.calls == 0


def test_under_dagster_dev_the_project_is_prepared_once_per_process_tree(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(module, "dbt_project", recorder)
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    monkeypatch.setenv("SLUICE_DBT_PREPARED", "")  # restored (unset) after the test
    module.prepare_if_dev()
    module.prepare_if_dev()  # a run or step process started from the code location inherits the flag
    assert recorder.calls == 1
    assert module.os.environ["SLUICE_DBT_PREPARED"] == "1"


def test_the_project_reads_the_repositorys_dbt_project():
    project = module.dbt_project
    assert project.project_dir.name == "dbt_project"
    assert project.manifest_path == project.project_dir / "target" / "manifest.json"
