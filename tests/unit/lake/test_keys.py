import datetime as dt

from ingest.lake.keys import (
    curated_key,
    hour_path,
    landed_key,
    raw_glob,
    raw_hour_prefix,
    topic_prefix,
)

HOUR = dt.datetime(2024, 1, 5, 9, tzinfo=dt.UTC)


def test_hours_follow_the_sinks_path_format_in_utc():
    assert hour_path(HOUR) == "year=2024/month=01/day=05/hour=09"
    assert hour_path(HOUR.astimezone(dt.timezone(dt.timedelta(hours=-5)))) == "year=2024/month=01/day=05/hour=09"


def test_each_stage_has_its_key():
    assert topic_prefix("topics", "events") == "topics/events/"
    assert raw_hour_prefix("topics", "events", HOUR) == "topics/events/year=2024/month=01/day=05/hour=09/"
    assert raw_glob("data-lake", "topics", "events") == "s3://data-lake/topics/events/*/*/*/*/*.parquet"
    assert landed_key("landed", "events", HOUR) == "landed/events/year=2024/month=01/day=05/hour=09/part-0.parquet"
    assert curated_key("curated", "events_by_time", HOUR) == (
        "curated/events_by_time/event_date=2024-01-05/event_hour=09/part-0.parquet")

