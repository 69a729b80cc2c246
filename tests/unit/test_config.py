import json

import pytest

from ingest.config import load_sink_config, parse_sink_config
from ingest.connections import REPO_ROOT, Connections
from ingest.errors import ConfigError

SEED = REPO_ROOT / "config" / "s3-sink.json"
CONN = Connections.from_env({}, env_file=REPO_ROOT / "no-such-env-file")


def seed(**changes) -> dict:
    document = json.loads(SEED.read_text())
    document["config"].update(changes)
    for key in [k for k, v in changes.items() if v is None]:
        del document["config"][key]
    return document


def test_seed_config_parses_with_confluent_meanings_and_defaults():
    cfg = load_sink_config(SEED, CONN)
    assert (cfg.name, cfg.group_id, cfg.topics, cfg.bucket) == ("s3-sink", "connect-s3-sink", ("events",), "data-lake")
    rotation = (cfg.flush_size, cfg.rotate_interval_ms, cfg.rotate_schedule_interval_ms)
    assert (cfg.tasks_max, *rotation) == (3, 10000, 600000, -1)
    assert (cfg.partitioner, cfg.partition_duration_ms) == ("time", 3_600_000)
    assert cfg.path_format == "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH"
    assert (cfg.format, cfg.parquet_codec, cfg.extension) == ("parquet", "snappy", ".snappy.parquet")
    assert (cfg.timezone, cfg.locale, cfg.timestamp_extractor) == ("UTC", "en-US", "Wallclock")
    assert (cfg.errors_tolerance, cfg.behavior_on_null_values, cfg.topics_dir) == ("none", "fail", "topics")
    assert cfg.connections.s3_region == "us-east-1"


def test_seed_config_warns_about_utc_default_and_wallclock_extractor():
    warnings = " | ".join(load_sink_config(SEED, CONN).warnings)
    assert "'timezone' is not set" in warnings and "using UTC" in warnings
    assert "Wallclock" in warnings and "exactly-once" in warnings


def test_an_unknown_key_is_refused_by_name_with_the_nearest_known_one():
    with pytest.raises(ConfigError, match=r"'s3.bucket.nmae'.*did you mean 's3.bucket.name'"):
        parse_sink_config(seed(**{"s3.bucket.nmae": "typo"}), CONN)


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("flush.size", "0", "an integer >= 1"),
        ("flush.size", "lots", "an integer >= 1"),
        ("partitioner.class", "io.confluent.connect.storage.partitioner.WeeklyPartitioner", "HourlyPartitioner"),
        ("format.class", "io.confluent.connect.s3.format.avro.AvroFormat", "ParquetFormat"),
        ("parquet.codec", "lzo", "snappy"),
        ("errors.tolerance", "some", "none, all"),
        ("timestamp.extractor", "Kafka", "Record, RecordField, Wallclock"),
        ("timezone", "Mars/Olympus", "IANA time zone"),
        ("path.format", "'year'=YYYY/'week'=ww", "pattern letter 'w' is not supported"),
        ("s3.bucket.name", "Data_Lake", "S3 bucket rules"),
        ("topics.dir", "../escape", "segments"),
        ("behavior.on.null.values", "write", "fail, ignore"),
        ("sluice.rotation", "exact", "sluice, confluent"),
    ],
)
def test_bad_value_names_the_key_the_value_and_what_is_allowed(key, value, allowed):
    with pytest.raises(ConfigError) as info:
        parse_sink_config(seed(**{key: value}), CONN)
    assert info.value.key == key
    assert value in str(info.value) and allowed in info.value.allowed


@pytest.mark.parametrize("key", ["flush.size", "s3.bucket.name", "partition.duration.ms", "path.format"])
def test_missing_required_key_is_named(key):
    with pytest.raises(ConfigError, match=f"'{key}': missing"):
        parse_sink_config(seed(**{key: None}), CONN)


def test_topics_and_topics_regex_are_exclusive():
    with pytest.raises(ConfigError, match="exactly one of 'topics'"):
        parse_sink_config(seed(**{"topics.regex": "events-.*"}), CONN)
    cfg = parse_sink_config(seed(topics=None, **{"topics.regex": "events-.*"}), CONN)
    assert cfg.topics == () and cfg.topics_regex == "events-.*"


def test_connection_keys_in_the_file_win_over_the_environment_and_secrets_stay_masked():
    cfg = parse_sink_config(seed(**{"bootstrap.servers": "k1:9092", "store.url": "http://minio:9000",
                                    "aws.access.key.id": "AK", "aws.secret.access.key": "SECRET"}), CONN)
    assert (cfg.connections.kafka_bootstrap, cfg.connections.s3_endpoint) == ("k1:9092", "http://minio:9000")
    assert "SECRET" not in repr(cfg)


def test_hourly_partitioner_fixes_path_format_and_duration():
    cfg = parse_sink_config(seed(**{"partitioner.class": "HourlyPartitioner", "path.format": None,
                                    "partition.duration.ms": None}), CONN)
    assert (cfg.path_format, cfg.partition_duration_ms) == ("'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", 3_600_000)


def test_consumer_overrides_pass_through():
    cfg = parse_sink_config(seed(**{"consumer.override.max.poll.interval.ms": "600000"}), CONN)
    assert cfg.consumer_overrides == {"max.poll.interval.ms": "600000"}
    assert not any("consumer.override" in w for w in cfg.warnings)


@pytest.mark.parametrize("value", ["0", "-1", "-3"])
def test_tasks_max_below_one_is_refused(value):
    with pytest.raises(ConfigError) as info:
        parse_sink_config(seed(**{"tasks.max": value}), CONN)
    assert (info.value.key, info.value.value) == ("tasks.max", value)
    assert info.value.allowed.startswith("an integer >= 1")


def test_tasks_max_defaults_to_one():
    assert parse_sink_config(seed(**{"tasks.max": None}), CONN).tasks_max == 1


def test_the_s3_timeout_is_twenty_seconds_unless_set_and_must_be_positive():
    assert parse_sink_config(seed(), CONN).s3_timeout_ms == 20_000
    assert parse_sink_config(seed(**{"sluice.s3.timeout.ms": "5000"}), CONN).s3_timeout_ms == 5_000
    for bad in ("0", "-1", "soon"):
        with pytest.raises(ConfigError, match="sluice.s3.timeout.ms"):
            parse_sink_config(seed(**{"sluice.s3.timeout.ms": bad}), CONN)
