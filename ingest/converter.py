"""The connector's `value.converter` keys: what a record value is, and where its schemas come from.

No `value.converter`: Sluice's default, schemaless JSON checked against `sluice.schema.file`. Kafka's
`JsonConverter` with `schemas.enable` (true by default, as in Kafka Connect) wraps each value as
{"schema": ..., "payload": ...}. Confluent's `AvroConverter` reads Confluent's wire format against a schema registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.connections import REGISTRY_CLIENT_KEYS, RegistrySettings
from ingest.errors import ConfigError

AVRO = "io.confluent.connect.avro.AvroConverter"
JSON = "org.apache.kafka.connect.json.JsonConverter"
CONVERTERS = {AVRO: "avro", JSON: "json"}
PREFIX = "value.converter."
REGISTRY_TIMEOUT_S = 10
COMPATIBILITIES = ("NONE", "BACKWARD", "FORWARD", "FULL")
# The Java converter's TLS keys, and what does their job here.
JAVA_TLS = "SLUICE_SCHEMA_REGISTRY_SSL_CA_LOCATION (a PEM CA file; client certificates: ..._SSL_CERTIFICATE_LOCATION " \
           "and ..._SSL_KEY_LOCATION), read by every registry client of Sluice"


@dataclass(frozen=True)
class ValueConverter:
    kind: str = "json"  # "json" or "avro"
    envelope: bool = False  # JsonConverter with schemas.enable: the record is the envelope's "payload"
    registry: RegistrySettings = field(default_factory=RegistrySettings, repr=False)  # URL, auth, TLS
    compatibility: str = "NONE"  # schema.compatibility, Confluent's default: when the written schema changes

    @property
    def registry_url(self) -> str:
        return self.registry.url

    def registry_config(self) -> dict[str, str]:
        """confluent-kafka's SchemaRegistryClient settings; a request that gets no answer times out (its default
        is to wait forever, which a frozen registry would turn into a task that hangs instead of retrying)."""
        return self.registry.client_config(timeout=REGISTRY_TIMEOUT_S)


def _flag(raw: dict[str, str], key: str, default: bool) -> bool:
    value = raw.get(key, "").strip().lower()
    if value == "":
        return default
    if value not in ("true", "false"):
        raise ConfigError(key, raw[key], "true or false")
    return value == "true"


def parse_value_converter(raw: dict[str, str], registry: RegistrySettings,
                          kafka_client: tuple[tuple[str, str], ...] = ()) -> tuple[ValueConverter, set[str], list[str]]:
    """The converter of a connector config, the keys it read and warnings. The registry: the config's
    `value.converter.schema.registry.url` and client keys (basic and bearer auth) over `registry` (the
    environment's SLUICE_SCHEMA_REGISTRY_* settings); SASL_INHERIT takes the Kafka clients' SASL login."""
    used = {k for k in raw if k == "value.converter" or k.startswith(PREFIX)} | {"schema.compatibility"}
    compatibility = raw.get("schema.compatibility", "").strip().upper()
    if compatibility and compatibility not in COMPATIBILITIES:
        raise ConfigError("schema.compatibility", raw["schema.compatibility"], ", ".join(COMPATIBILITIES))
    name = raw.get("value.converter", "").strip()
    if not name:
        return ValueConverter(), used, []
    name = {k.rsplit(".", 1)[-1]: k for k in CONVERTERS}.get(name, name)  # the simple class name is enough
    if name not in CONVERTERS:
        raise ConfigError("value.converter", name, f"{AVRO} or {JSON} (or unset: schemaless JSON)")
    if CONVERTERS[name] == "json":
        return ValueConverter("json", envelope=_flag(raw, PREFIX + "schemas.enable", True)), used, []
    url = raw.get(PREFIX + "schema.registry.url", "").strip() or registry.url
    if not url.startswith(("http://", "https://")):
        raise ConfigError(PREFIX + "schema.registry.url", url or None,
                          "the schema registry's http(s) URL (or SLUICE_SCHEMA_REGISTRY_URL)")
    client = dict(registry.client) | registry_keys(raw, kafka_client)
    warnings = []
    if compatibility and raw.get("sluice.schema.file", "").strip():
        warnings.append(f"schema.compatibility={compatibility} is not used: sluice.schema.file is the reader schema "
                        "every version is read into")
    return ValueConverter("avro", registry=RegistrySettings(url.rstrip("/"), tuple(client.items())),
                          compatibility=compatibility or "NONE"), used, warnings


def registry_keys(raw: dict[str, str], kafka_client: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The registry client settings of the converter's keys (Confluent's names under value.converter.)."""
    for key in raw:
        if key.startswith(PREFIX + "schema.registry.ssl."):
            raise ConfigError(key, raw[key], JAVA_TLS)
    settings = {key: raw[PREFIX + key].strip() for key in REGISTRY_CLIENT_KEYS if raw.get(PREFIX + key, "").strip()}
    if raw.get(PREFIX + "schema.registry.basic.auth.user.info", "").strip():  # the older name
        settings["basic.auth.user.info"] = raw[PREFIX + "schema.registry.basic.auth.user.info"].strip()
    source = raw.get(PREFIX + "basic.auth.credentials.source", "USER_INFO").strip().upper()
    if source not in ("USER_INFO", "SASL_INHERIT", "URL"):
        raise ConfigError(PREFIX + "basic.auth.credentials.source", source, "USER_INFO, SASL_INHERIT or URL")
    if source == "SASL_INHERIT":
        kafka = dict(kafka_client)
        if not kafka.get("sasl.username"):
            raise ConfigError(PREFIX + "basic.auth.credentials.source", source,
                              "SASL_INHERIT only with a Kafka SASL login (SLUICE_KAFKA_SASL_USERNAME/PASSWORD)")
        settings["basic.auth.user.info"] = f"{kafka['sasl.username']}:{kafka.get('sasl.password', '')}"
    return settings
