"""What Sluice does with each key of a Confluent S3 sink config that the parser does not read itself.

Every key is honored, accepted because its value is what Sluice does anyway, accepted with a warning because it
changes neither the data written nor its security (tuning, logging), or refused with a ConfigError that says why.
Kafka client keys (`consumer.override.*`, `producer.override.*`, `admin.override.*`) are librdkafka's: a Java
client key names its librdkafka equivalent. The README's "Connector keys" table lists the same.
"""

from __future__ import annotations

import difflib

from ingest.errors import ConfigError

# Tuning and logging: accepted with a warning, they change no data and no security (no reason: silently).
NO_EFFECT = {
    "s3.part.size": "Sluice uploads each file in one PUT",
    "s3.part.retries": "Sluice retries a PUT for sluice.s3.retry.timeout.ms",
    "s3.retry.backoff.ms": "",  # honored by the parser; listed for the README
    "s3.wan.mode": "S3 Transfer Acceleration is a bucket setting; use its endpoint as store.url",
    "s3.http.send.expect.continue": "boto3 decides",
    "s3.elastic.buffer.enable": "files are built in memory by Arrow",
    "s3.elastic.buffer.init.capacity": "files are built in memory by Arrow",
    "schema.cache.size": "the registry client caches every schema it reads",
    "retry.backoff.ms": "Kafka clients back off on their own",
    "errors.log.enable": "Sluice logs every dead letter's reason",
    "errors.log.include.messages": "Sluice logs every dead letter's reason",
    "errors.retry.timeout": "Sluice retries S3 and the registry on its own timeouts",
    "errors.retry.delay.max.ms": "Sluice retries S3 and the registry on its own timeouts",
    "config.action.reload": "Sluice reads its config at start",
    "key.converter": "",  # silent: record keys are kept as their bytes, whatever their converter (README)
    "key.converter.schemas.enable": "",
    "header.converter": "",  # silent: headers are kept as their bytes
    "consumer.override.client.rack": "",
}

# Keys whose only accepted value is what Sluice does; any other value is refused with the reason.
FIXED = {
    "directory.delim": ("/", "S3 keys are '/'-separated here"),
    "file.delim": ("+", "file names are <topic>+<partition>+<start offset> (exactly-once naming)"),
    "filename.offset.zero.pad.width": ("10", "offsets are padded to 10 digits, Confluent's default"),
    "s3.acl.canned": ("private", "objects get the bucket's default (private) ACL; grant access by bucket policy"),
    "s3.object.tagging": ("false", "object tags are not written"),
    "s3.compression.type": ("none", "Parquet files are compressed by parquet.codec"),
    "store.kafka.keys": ("false", "record keys are not written as separate files"),
    "store.kafka.headers": ("false", "headers are not written as separate files"),
    "s3.schema.partition.affix.type": ("NONE", "keys carry no schema affix"),
    "transforms": ("", "Single Message Transforms are not run: transform in the dbt models instead"),
    "predicates": ("", "Single Message Transforms are not run: transform in the dbt models instead"),
    "s3.credentials.provider.class": ("com.amazonaws.auth.DefaultAWSCredentialsProviderChain",
                                      "credentials come from aws.access.key.id/aws.secret.access.key, "
                                      "SLUICE_S3_* variables or boto3's default chain (the same order as AWS's)"),
    "enhanced.avro.schema.support": ("false", "files are Parquet with the sink's own schema mapping"),
    "connect.meta.data": ("false", "files are Parquet with the sink's own schema mapping"),
}

# Keys Sluice cannot honor, with what to do instead.
REFUSED = {
    "s3.sse.customer.key": "SSE-C is not supported: DuckDB, which reads the lake, cannot send customer keys; use "
                           "s3.ssea.name=aws:kms with s3.sse.kms.key.id",
    "s3.sse.customer.key.md5": "SSE-C is not supported (see s3.sse.customer.key)",
    "s3.proxy.url": "set HTTPS_PROXY / NO_PROXY in the environment: boto3 and DuckDB both read them",
    "s3.proxy.user": "set HTTPS_PROXY=http://user:password@host:port in the environment",
    "s3.proxy.password": "set HTTPS_PROXY=http://user:password@host:port in the environment",
    "avro.codec": "Avro output files are not written: format.class is Parquet or JSON",
    "format.bytearray.extension": "ByteArrayFormat files are not written: format.class is Parquet or JSON",
    "format.bytearray.separator": "ByteArrayFormat files are not written: format.class is Parquet or JSON",
    "keys.format.class": "record keys are not written as separate files",
    "headers.format.class": "headers are not written as separate files",
    "tombstone.encoded.partition": "tombstones follow behavior.on.null.values",
}
REFUSED_PREFIXES = {
    "transforms.": "Single Message Transforms are not run: transform in the dbt models instead",
    "predicates.": "Single Message Transforms are not run: transform in the dbt models instead",
    "s3.credentials.provider.": "credentials come from aws.access.key.id/aws.secret.access.key, SLUICE_S3_* "
                                "variables or boto3's default chain",
}

# Java client keys and the librdkafka settings that do their job.
JAVA_ONLY = {
    "sasl.jaas.config": "sasl.username and sasl.password (PLAIN, SCRAM-SHA-256/512) or sasl.oauthbearer.method=oidc "
                        "with sasl.oauthbearer.client.id, .client.secret and .token.endpoint.url (OAUTHBEARER)",
    "ssl.truststore.location": "ssl.ca.location (a PEM file: keytool -exportcert -rfc turns a JKS entry into one)",
    "ssl.truststore.password": "nothing: ssl.ca.location is a PEM file without a password",
    "ssl.truststore.type": "ssl.ca.location (PEM)",
    "ssl.truststore.certificates": "ssl.ca.location (PEM)",
    "ssl.keystore.type": "ssl.keystore.location (PKCS#12) or ssl.certificate.location with ssl.key.location (PEM)",
    "ssl.keystore.certificate.chain": "ssl.certificate.location (PEM)",
    "ssl.keystore.key": "ssl.key.location (PEM)",
    "ssl.protocol": "ssl.protocol is librdkafka's choice (TLS 1.2+)",
    "ssl.enabled.protocols": "ssl.protocol is librdkafka's choice (TLS 1.2+)",
    "sasl.login.callback.handler.class": "sasl.oauthbearer.method=oidc with sasl.oauthbearer.token.endpoint.url",
    "sasl.client.callback.handler.class": "MSK IAM is not supported: use MSK's SASL/SCRAM or mutual TLS (README, "
                                          "Connecting to managed services)",
    "security.providers": "nothing: librdkafka uses OpenSSL",
    "ssl.engine.factory.class": "nothing: librdkafka uses OpenSSL",
}
CLIENT_PREFIXES = {"consumer.override.": "consumer", "producer.override.": "producer", "admin.override.": "admin"}
# Sluice owns these for each client: the group is the connector's, the DLQ producer is transactional.
OWNED = {"group.id": "the consumer group is connect-<name>: set 'name'",
         "group.instance.id": "static membership is set by `sluice sink --instance-id`",
         "transactional.id": "the DLQ producer's transactional id is the task's (name, instance id, task)",
         "enable.auto.commit": "offsets are committed with the files they went into",
         "isolation.level": "", "bootstrap.servers": ""}
# Keys a Kafka Connect worker takes, not a connector: where each belongs in Sluice.
WORKER_ONLY = ("security.protocol", "sasl.", "ssl.", "client.id")


def client_overrides(raw: dict[str, str]) -> dict[str, dict[str, str]]:
    """The connector's `<client>.override.<key>` settings per client (consumer, producer, admin), checked."""
    overrides: dict[str, dict[str, str]] = {client: {} for client in CLIENT_PREFIXES.values()}
    for key, value in raw.items():
        prefix = next((p for p in CLIENT_PREFIXES if key.startswith(p)), None)
        if prefix is None:
            continue
        setting = key.removeprefix(prefix)
        check_kafka_key(key, setting, value)
        overrides[CLIENT_PREFIXES[prefix]][setting] = value
    return overrides


def check_kafka_key(key: str, setting: str, value: str) -> None:
    """A ConfigError for a Java-only or Sluice-owned Kafka client setting."""
    if setting in JAVA_ONLY:
        raise ConfigError(key, value, f"librdkafka settings (Sluice's Kafka clients are librdkafka's, not Java's): "
                                      f"{JAVA_ONLY[setting]}")
    if OWNED.get(setting):
        raise ConfigError(key, value, f"not set here: {OWNED[setting]}")
    if setting == "bootstrap.servers":
        raise ConfigError(key, value, "not set per client: bootstrap.servers (or SLUICE_KAFKA_BOOTSTRAP)")


def check_remaining(raw: dict[str, str], used: set[str], known: set[str]) -> list[str]:
    """Warnings for the keys nobody read that change nothing; a ConfigError for any other."""
    warnings = []
    for key in sorted(set(raw) - used):
        value = str(raw[key]).strip()
        if key in NO_EFFECT:
            if NO_EFFECT[key]:
                warnings.append(f"'{key}' is accepted and changes nothing here: {NO_EFFECT[key]}")
        elif key.startswith(("key.converter.", "header.converter.")):
            continue  # the key and header converters' own settings: keys and headers are kept as bytes
        elif key in FIXED:
            expected, why = FIXED[key]
            if value.lower() != expected.lower():
                raise ConfigError(key, value, f"{expected or 'empty'} only: {why}")
        elif key in REFUSED:
            raise ConfigError(key, value, f"nothing: {REFUSED[key]}")
        elif prefix := next((p for p in REFUSED_PREFIXES if key.startswith(p)), None):
            raise ConfigError(key, value, f"nothing: {REFUSED_PREFIXES[prefix]}")
        elif key.startswith(("consumer.", "producer.", "admin.")) and OWNED.get(key.split(".", 1)[1]):
            raise ConfigError(key, value, f"not set here: {OWNED[key.split('.', 1)[1]]}")
        elif key.startswith(("consumer.", "producer.", "admin.")):
            client, setting = key.split(".", 1)
            raise ConfigError(key, value, f"a Kafka Connect worker's key, not a connector's: set "
                                          f"{client}.override.{setting}")
        elif key.startswith(WORKER_ONLY):
            raise ConfigError(key, value, "a Kafka Connect worker's key, not a connector's: set "
                                          f"consumer.override.{key} / producer.override.{key} / admin.override.{key} "
                                          f"or SLUICE_KAFKA_{key.upper().replace('.', '_')} for every client")
        else:
            near = difflib.get_close_matches(key, sorted(known | set(NO_EFFECT) | set(FIXED)), n=1)
            hint = f" (did you mean '{near[0]}'?)" if near else ""
            raise ConfigError(key, value, f"a key of the Confluent S3 sink that Sluice reads{hint}; the README's "
                                          "'Connector keys' table lists them")
    return warnings
