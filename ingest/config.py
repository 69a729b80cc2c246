"""The S3 sink's config: a Kafka Connect JSON file with the Confluent S3 sink's keys, defaults and meanings.

`load_sink_config(path)` parses and validates it. A key Sluice does not know is reported by name; a bad or
missing value raises `ConfigError` naming the key, the value and what is allowed. Connection settings
(`bootstrap.servers`, `store.url`, `s3.region`, `aws.access.key.id`, `aws.secret.access.key`) may be in the
file or come from the environment (`ingest.connections`).
"""

from __future__ import annotations

import dataclasses
import json
import re
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from ingest.config_reader import ConfigReader
from ingest.connections import REPO_ROOT, Connections, S3Settings
from ingest.connector_keys import check_remaining, client_overrides
from ingest.converter import ValueConverter, parse_value_converter
from ingest.errors import ConfigError

DEFAULT_SCHEMA = REPO_ROOT / "config" / "events.schema.json"

PARTITIONERS = {
    "io.confluent.connect.storage.partitioner.DefaultPartitioner": "default",
    "io.confluent.connect.storage.partitioner.FieldPartitioner": "field",
    "io.confluent.connect.storage.partitioner.HourlyPartitioner": "hourly",
    "io.confluent.connect.storage.partitioner.DailyPartitioner": "daily",
    "io.confluent.connect.storage.partitioner.TimeBasedPartitioner": "time",
}
FORMATS = {
    "io.confluent.connect.s3.format.parquet.ParquetFormat": "parquet",
    "io.confluent.connect.s3.format.json.JsonFormat": "json",
}
EXTRACTORS = ("Record", "RecordField", "Wallclock")
# sluice (default): a Kafka partition's open files close together on flush.size / rotate.interval.ms only;
# confluent: also whenever a record's encoded partition differs from the one before (Confluent's exact files)
ROTATIONS = ("sluice", "confluent")
# Parquet codecs and the file-name extension parquet-mr gives each (Confluent names files with it).
PARQUET_CODECS = {"none": "", "snappy": ".snappy", "gzip": ".gz", "brotli": ".br", "lz4": ".lz4raw", "zstd": ".zstd"}
CONNECTOR_CLASSES = ("io.confluent.connect.s3.S3SinkConnector",)
STORAGE_CLASSES = ("io.confluent.connect.s3.storage.S3Storage",)

# The keys this parser reads (for "did you mean" hints; ingest.connector_keys decides about the others).
KNOWN_KEYS = {
    "name", "connector.class", "storage.class", "topics", "topics.regex", "topics.dir", "s3.bucket.name",
    "partitioner.class", "path.format", "partition.duration.ms", "partition.field.name", "timezone", "locale",
    "timestamp.extractor", "timestamp.field", "flush.size", "rotate.interval.ms", "rotate.schedule.interval.ms",
    "sluice.rotation", "format.class", "parquet.codec", "behavior.on.null.values", "errors.tolerance",
    "errors.deadletterqueue.topic.name", "errors.deadletterqueue.topic.replication.factor",
    "errors.deadletterqueue.context.headers.enable", "sluice.watermark.lateness.ms", "sluice.watermark.interval.ms",
    "s3.retry.backoff.ms", "sluice.s3.retry.timeout.ms", "sluice.s3.timeout.ms", "bootstrap.servers", "store.url",
    "s3.region", "aws.access.key.id", "aws.secret.access.key", "s3.path.style.access.enabled", "s3.ssea.name",
    "s3.sse.kms.key.id", "value.converter", "schema.compatibility", "sluice.schema.file", "tasks.max",
}

BUCKET_RE = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
TOPIC_RE = re.compile(r"^[A-Za-z0-9._-]{1,249}$")
KEY_SEGMENT_RE = re.compile(r"^[A-Za-z0-9._=-]+$")
LOCALE_RE = re.compile(r"^[a-z]{2,3}([-_][A-Za-z]{2,4})*$")


@dataclass(frozen=True)
class SinkConfig:
    name: str
    topics: tuple[str, ...]
    topics_regex: str | None
    topics_dir: str
    tasks_max: int
    bucket: str
    flush_size: int
    rotate_interval_ms: int
    rotate_schedule_interval_ms: int
    partitioner: str
    path_format: str
    partition_duration_ms: int
    partition_fields: tuple[str, ...]
    locale: str
    timezone: str
    timestamp_extractor: str
    timestamp_field: str
    format: str
    parquet_codec: str
    behavior_on_null_values: str
    errors_tolerance: str
    dlq_topic: str
    dlq_replication_factor: int
    dlq_context_headers: bool
    schema_file: Path | None  # None: an Avro sink reads into its subjects' latest registered schema
    watermark_lateness_ms: int
    watermark_interval_ms: int  # at most one watermark write per partition per interval (0: after every commit)
    connections: Connections
    s3_retry_backoff_ms: int = 200  # Confluent's s3.retry.backoff.ms: the first retry's wait, doubling
    s3_retry_timeout_ms: int = 600_000  # how long a failing PUT is retried before the task stops
    s3_timeout_ms: int = 20_000  # per S3 connect and read: a frozen S3 shows as a timeout, then the PUT is retried
    consumer_overrides: dict[str, str] = field(default_factory=dict)
    producer_overrides: dict[str, str] = field(default_factory=dict)  # the DLQ producer's (producer.override.*)
    admin_overrides: dict[str, str] = field(default_factory=dict)  # the admin client's (admin.override.*)
    warnings: tuple[str, ...] = ()
    rotation: str = "sluice"  # sluice.rotation: "confluent" also closes files when the encoded partition changes
    value_converter: ValueConverter = field(default_factory=ValueConverter)
    reader_schema: dict | None = None  # the Avro reader schema the sink resolved from the registry at start
    reader_subject: str | None = None  # the subject it is the latest version of, when the sink started
    reader_version: int | None = None  # that version: a later version of the subject replaces it

    def client_connections(self, client: str) -> Connections:
        """The connections of the sink's `client` ("producer" or "admin"): its override.* keys over the
        SLUICE_KAFKA_* settings every client takes."""
        overrides = {"producer": self.producer_overrides, "admin": self.admin_overrides}[client]
        merged = dict(self.connections.kafka_client) | overrides
        return dataclasses.replace(self.connections, kafka_client=tuple(merged.items()))

    @property
    def group_id(self) -> str:
        """Kafka Connect's consumer group for a sink connector."""
        return f"connect-{self.name}"

    @property
    def extension(self) -> str:
        return PARQUET_CODECS[self.parquet_codec] + ".parquet" if self.format == "parquet" else ".json"

    @property
    def time_based(self) -> bool:
        return self.partitioner in ("hourly", "daily", "time")


def parse_sink_config(document: dict, connections: Connections | None = None) -> SinkConfig:
    """Validate a Kafka Connect config document (`{"name": ..., "config": {...}}` or the bare config)."""
    raw = document.get("config", document)
    if not isinstance(raw, dict):
        raise ConfigError("config", type(raw).__name__, "a JSON object of connector keys")
    r = ConfigReader(raw)
    warnings: list[str] = []
    name = document.get("name") or r.get("name") or "s3-sink"
    r.used.add("name")
    if not KEY_SEGMENT_RE.match(name):
        raise ConfigError("name", name, "letters, digits, '.', '_', '-' (it names the consumer group)")

    r.choice("connector.class", CONNECTOR_CLASSES[0], CONNECTOR_CLASSES)
    r.choice("storage.class", STORAGE_CLASSES[0], STORAGE_CLASSES)
    topics, regex = r.get("topics"), r.get("topics.regex")
    if (topics is None) == (regex is None):
        raise ConfigError("topics", topics, "exactly one of 'topics' (a comma-separated list) or 'topics.regex'")
    topic_list = tuple(t.strip() for t in (topics or "").split(",") if t.strip())
    for topic in topic_list:
        if not TOPIC_RE.match(topic):
            raise ConfigError("topics", topic, "Kafka topic names: letters, digits, '.', '_', '-'")
    if regex is not None:
        try:
            re.compile(regex)
        except re.error as exc:
            raise ConfigError("topics.regex", regex, f"a valid regular expression ({exc})") from None

    topics_dir = r.get("topics.dir", "topics").strip("/")
    if not all(KEY_SEGMENT_RE.match(seg) and seg not in (".", "..") for seg in topics_dir.split("/")):
        raise ConfigError("topics.dir", topics_dir, "'/'-separated segments of letters, digits, '.', '_', '=', '-'")
    bucket = r.required("s3.bucket.name", "an S3 bucket name")
    if not BUCKET_RE.match(bucket):
        raise ConfigError("s3.bucket.name", bucket, "3-63 lowercase letters, digits, '.', '-' (S3 bucket rules)")

    partitioner = r.choice("partitioner.class", next(iter(PARTITIONERS)), PARTITIONERS)
    path_format, duration = _partitioning(r, partitioner)
    fields: tuple[str, ...] = ()
    if partitioner == "field":
        fields = tuple(f.strip() for f in r.required("partition.field.name", "field names").split(","))
    timezone = r.get("timezone")
    locale = r.get("locale")
    if partitioner in ("hourly", "daily", "time"):
        if timezone is None:
            warnings.append("'timezone' is not set; Confluent requires it for time-based partitioning: using UTC")
        if locale is None:
            warnings.append("'locale' is not set; Confluent requires it for time-based partitioning: using en-US")
    timezone = timezone or "UTC"
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError("timezone", timezone, "an IANA time zone such as UTC or Europe/Berlin") from None
    locale = locale or "en-US"
    if not LOCALE_RE.match(locale):
        raise ConfigError("locale", locale, "a locale such as en-US or en_US")

    extractor = r.choice("timestamp.extractor", "Wallclock", EXTRACTORS)
    timestamp_field = r.get("timestamp.field", "timestamp")
    if extractor == "Wallclock" and partitioner in ("hourly", "daily", "time"):
        warnings.append(
            "timestamp.extractor=Wallclock (Confluent's default) files records by the time the sink sees them, "
            "so a restart or replay can put a record in another hour than before and exactly-once no longer "
            "holds across restarts; set timestamp.extractor=RecordField with timestamp.field=event_time, or Record"
        )

    flush_size = r.integer("flush.size", None, 1, "an integer >= 1 (records per file)")
    rotate_interval = r.integer("rotate.interval.ms", -1, 1, "-1 (off) or milliseconds >= 1")
    rotate_schedule = r.integer("rotate.schedule.interval.ms", -1, 1, "-1 (off) or milliseconds >= 1")
    rotation = r.choice("sluice.rotation", "sluice", ROTATIONS)
    fmt = r.choice("format.class", next(iter(FORMATS)), FORMATS)
    codec = r.choice("parquet.codec", "snappy", tuple(PARQUET_CODECS))
    null_behavior = r.choice("behavior.on.null.values", "fail", ("fail", "ignore"))
    tolerance = r.choice("errors.tolerance", "none", ("none", "all"))
    dlq = r.get("errors.deadletterqueue.topic.name", "")
    if dlq and not TOPIC_RE.match(dlq):
        raise ConfigError("errors.deadletterqueue.topic.name", dlq, "a Kafka topic name")
    dlq_rf = r.integer("errors.deadletterqueue.topic.replication.factor", 3, 1)
    dlq_headers = r.boolean("errors.deadletterqueue.context.headers.enable", False)
    if dlq and tolerance == "none":
        warnings.append("errors.deadletterqueue.topic.name is set but errors.tolerance=none: the DLQ stays unused")

    lateness = r.integer("sluice.watermark.lateness.ms", 0, 0)
    watermark_interval = r.integer("sluice.watermark.interval.ms", 1000, 0)
    retry_backoff = r.integer("s3.retry.backoff.ms", 200, 1)
    retry_timeout = r.integer("sluice.s3.retry.timeout.ms", 600_000, 0)
    s3_timeout = r.integer("sluice.s3.timeout.ms", 20_000, 1, off=None)

    if connections is None:  # the sink uses no Cassandra; Kafka and S3 may come from the connector's own keys
        given = {"SLUICE_CASSANDRA_HOSTS"} | {var for key, var in (("bootstrap.servers", "SLUICE_KAFKA_BOOTSTRAP"),
                                                                   ("store.url", "SLUICE_S3_ENDPOINT")) if key in raw}
        connections = Connections.from_env(given=frozenset(given))
    env = connections
    e3 = env.s3
    s3 = S3Settings(
        endpoint=r.get("store.url", e3.endpoint), region=r.get("s3.region", e3.region),
        access_key_id=r.get("aws.access.key.id", e3.access_key_id),
        secret_access_key=r.get("aws.secret.access.key", e3.secret_access_key), session_token=e3.session_token,
        ca_bundle=e3.ca_bundle, path_style=r.boolean("s3.path.style.access.enabled", e3.path_style),
        sse=r.get("s3.ssea.name", e3.sse) or "", sse_kms_key_id=r.get("s3.sse.kms.key.id", e3.sse_kms_key_id) or "")
    connections = Connections.of(r.get("bootstrap.servers", env.kafka_bootstrap), s3, env.cassandra, env.registry,
                                 env.kafka_client)
    converter, converter_keys, converter_warnings = parse_value_converter(r.raw, env.registry, env.kafka_client)
    r.used |= converter_keys
    warnings += converter_warnings
    given = r.get("sluice.schema.file")
    schema_file = Path(given or DEFAULT_SCHEMA)
    if not schema_file.is_absolute():
        schema_file = (REPO_ROOT / schema_file).resolve()
    if given is None and converter.kind == "avro":
        schema_file = None  # the registry's: ingest.sink.reader_schema resolves it when the sink starts
    elif not schema_file.is_file():
        raise ConfigError("sluice.schema.file", str(schema_file),
                          "a JSON Schema (.json), Avro schema (.avsc) or Arrow schema file that exists")
    overrides = client_overrides(r.raw)
    r.used |= {k for k in r.raw if k.startswith(("consumer.override.", "producer.override.", "admin.override."))}
    tasks_max = r.integer("tasks.max", 1, 1, "an integer >= 1 (consumers in the connector's group)", off=None)
    warnings += check_remaining(r.raw, r.used, KNOWN_KEYS)

    return SinkConfig(
        name=name, topics=topic_list, topics_regex=regex, topics_dir=topics_dir, tasks_max=tasks_max,
        bucket=bucket, flush_size=flush_size, rotate_interval_ms=rotate_interval,
        rotate_schedule_interval_ms=rotate_schedule, partitioner=partitioner, path_format=path_format,
        partition_duration_ms=duration, partition_fields=fields, locale=locale, timezone=timezone,
        timestamp_extractor=extractor, timestamp_field=timestamp_field, format=fmt, parquet_codec=codec,
        behavior_on_null_values=null_behavior, errors_tolerance=tolerance, dlq_topic=dlq,
        dlq_replication_factor=dlq_rf, dlq_context_headers=dlq_headers, schema_file=schema_file,
        watermark_lateness_ms=lateness, watermark_interval_ms=watermark_interval, connections=connections,
        consumer_overrides=overrides["consumer"], producer_overrides=overrides["producer"],
        admin_overrides=overrides["admin"], s3_retry_backoff_ms=retry_backoff, s3_retry_timeout_ms=retry_timeout,
        s3_timeout_ms=s3_timeout,
        warnings=tuple(warnings), rotation=rotation, value_converter=converter,
    )


def _partitioning(r: ConfigReader, partitioner: str) -> tuple[str, int]:
    """path.format and partition.duration.ms: fixed by the Hourly and Daily partitioners, required for TimeBased."""
    from ingest.sink.partitioner import validate_path_format

    if partitioner == "hourly":
        r.get("path.format"), r.get("partition.duration.ms")
        return "'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH", 3_600_000
    if partitioner == "daily":
        r.get("path.format"), r.get("partition.duration.ms")
        return "'year'=YYYY/'month'=MM/'day'=dd", 86_400_000
    if partitioner != "time":
        return "", -1
    path_format = r.required("path.format", "a Joda-Time pattern such as 'year'=YYYY/'month'=MM/'day'=dd/'hour'=HH")
    problem = validate_path_format(path_format)
    if problem:
        raise ConfigError("path.format", path_format, problem)
    return path_format, r.integer("partition.duration.ms", None, 1, "milliseconds >= 1, e.g. 3600000 for hours")


def load_sink_config(path: str | Path, connections: Connections | None = None) -> SinkConfig:
    try:
        document = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError("--config", str(path), f"a readable file ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ConfigError("--config", str(path), f"a JSON document (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(document, dict):
        raise ConfigError("--config", str(path), "a JSON object")
    return parse_sink_config(document, connections)
