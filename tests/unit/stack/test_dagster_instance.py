"""The Dagster instance Sluice writes: valid for the installed Dagster, with retries, run monitoring and one run
per partition at a time; a user's own dagster.yaml is kept."""

from dagster._core.instance.config import dagster_instance_config

from stack.dagster_dev import INSTANCE, dagster_home


def test_sluices_instance_is_valid_and_limits_runs_per_partition(tmp_path):
    config, _ = dagster_instance_config(str(dagster_home(tmp_path)))
    assert config["run_retries"] == {"enabled": True, "max_retries": 2}
    assert config["run_monitoring"]["enabled"] is True
    assert config["concurrency"]["runs"]["tag_concurrency_limits"] == [
        {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}, "limit": 1}]


def test_an_earlier_sluice_file_is_rewritten_and_a_users_file_kept(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for home in (ours, theirs):
        home.mkdir()
    (ours / "dagster.yaml").write_text(INSTANCE.replace("max_retries: 2", "max_retries: 0"))
    (theirs / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    dagster_home(ours), dagster_home(theirs)
    assert (ours / "dagster.yaml").read_text() == INSTANCE
    assert (theirs / "dagster.yaml").read_text() == "telemetry:\n  enabled: true\n"


def test_what_sluices_library_code_logs_reaches_the_runs_log(tmp_path):
    import logging

    import dagster as dg

    @dg.op
    def reprocess():
        logging.getLogger("ingest.dlq.reprocess").warning("parked 3 letters: schema")
        logging.getLogger("sluice.sink").info("a sink line")

    @dg.job
    def dlq_like():
        reprocess()

    with dg.DagsterInstance.from_config(str(dagster_home(tmp_path))) as instance:
        result = dlq_like.execute_in_process(instance=instance)
        messages = [e.user_message for e in instance.all_logs(result.run_id)]
    assert "parked 3 letters: schema" in messages and "a sink line" in messages
