from ingest.lake.names import LakeNames


def test_defaults_match_the_seed_connector():
    assert LakeNames.from_env({}) == LakeNames("data-lake", "events", "events-dlq", "s3-sink")


def test_each_name_is_overridden_by_its_variable():
    names = LakeNames.from_env({"SLUICE_LAKE_BUCKET": "lake", "SLUICE_LAKE_TOPIC": "clicks",
                                "SLUICE_DLQ_TOPIC": "clicks-dlq", "SLUICE_SINK_NAME": "clicks-sink"})
    assert names == LakeNames(bucket="lake", topic="clicks", dlq_topic="clicks-dlq", connector="clicks-sink")


def test_the_dbt_project_repeats_the_default_bucket_exactly():
    """dbt cannot import Python: its two spellings of the default are pinned to ingest/lake/names.py here."""
    from ingest.connections import REPO_ROOT
    from ingest.lake.names import BUCKET

    macro = (REPO_ROOT / "dbt_project/macros/lake.sql").read_text()
    sources = (REPO_ROOT / "dbt_project/models/staging/_sources.yml").read_text()
    assert f"env_var('SLUICE_LAKE_BUCKET', '{BUCKET}')" in macro
    assert f'env_var("SLUICE_LAKE_BUCKET", "{BUCKET}")' in sources
