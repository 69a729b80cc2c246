"""The connector's `value.converter` keys: what a record value is, and where its schemas come from.

No `value.converter`: Sluice's default, schemaless JSON checked against `sluice.schema.file`. Kafka's
`JsonConverter` with `schemas.enable` (true by default, as in Kafka Connect) wraps each value as
{"schema": ..., "payload": ...}. Confluent's `AvroConverter` reads Confluent's wire format against a schema registry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.errors import ConfigError

AVRO = "io.confluent.connect.avro.AvroConverter"
JSON = "org.apache.kafka.connect.json.JsonConverter"
CONVERTERS = {AVRO: "avro", JSON: "json"}
PREFIX = "value.converter."
REGISTRY_TIMEOUT_S = 10
COMPATIBILITIES = ("NONE", "BACKWARD", "FORWARD", "FULL")
# Confluent's registry client keys under value.converter., passed through to confluent-kafka's client.
AUTH_KEYS = ("basic.auth.credentials.source", "basic.auth.user.info", "schema.registry.basic.auth.user.info")


@dataclass(frozen=True)
class ValueConverter:
    kind: str = "json"  # "json" or "avro"
    envelope: bool = False  # JsonConverter with schemas.enable: the record is the envelope's "payload"
    registry_url: str = ""
    registry_auth: str = field(default="", repr=False)  # "user:password" for basic auth; never shown
    compatibility: str = "NONE"  # schema.compatibility, Confluent's default: when the written schema changes

    def registry_config(self) -> dict[str, str]:
        """confluent-kafka's SchemaRegistryClient settings; a request that gets no answer times out (its default
        is to wait forever, which a frozen registry would turn into a task that hangs instead of retrying)."""
        conf: dict = {"url": self.registry_url, "timeout": REGISTRY_TIMEOUT_S}
        if self.registry_auth:
            conf["basic.auth.user.info"] = self.registry_auth
        return conf


def _flag(raw: dict[str, str], key: str, default: bool) -> bool:
    value = raw.get(key, "").strip().lower()
    if value == "":
        return default
    if value not in ("true", "false"):
        raise ConfigError(key, raw[key], "true or false")
    return value == "true"


def parse_value_converter(raw: dict[str, str], registry_url: str) -> tuple[ValueConverter, set[str], list[str]]:
    """The converter of a connector config, the keys it read and warnings; `registry_url` when the config names
    none."""
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
    url = raw.get(PREFIX + "schema.registry.url", "").strip() or registry_url
    if not url.startswith(("http://", "https://")):
        raise ConfigError(PREFIX + "schema.registry.url", url or None,
                          "the schema registry's http(s) URL (or SLUICE_SCHEMA_REGISTRY_URL)")
    source = raw.get(PREFIX + "basic.auth.credentials.source", "USER_INFO").strip().upper()
    if source not in ("USER_INFO", "SASL_INHERIT", "URL"):
        raise ConfigError(PREFIX + "basic.auth.credentials.source", source, "USER_INFO, SASL_INHERIT or URL")
    auth = (raw.get(PREFIX + "basic.auth.user.info") or raw.get(PREFIX + "schema.registry.basic.auth.user.info")
            or "").strip()
    warnings = []
    if compatibility and raw.get("sluice.schema.file", "").strip():
        warnings.append(f"schema.compatibility={compatibility} is not used: sluice.schema.file is the reader schema "
                        "every version is read into")
    return ValueConverter("avro", registry_url=url.rstrip("/"), registry_auth=auth,
                          compatibility=compatibility or "NONE"), used, warnings
