"""Where Sluice's services are and how to log in to them: Kafka, the schema registry, S3 and Cassandra.

Each setting comes from the process environment first, then from the local stack's env file (`.stack/env`, written
by `./dev up`), then from the local stack's defaults. With SLUICE_ENV set to anything but `local`, neither the env
file nor a loopback default is used: a missing SLUICE_KAFKA_BOOTSTRAP, SLUICE_S3_ENDPOINT (empty: AWS) or
SLUICE_CASSANDRA_HOSTS (or SLUICE_CASSANDRA_SECURE_CONNECT_BUNDLE) is a ConfigError naming it.

Security settings are one variable per client setting, named after it: SLUICE_KAFKA_<librdkafka key> (e.g.
SLUICE_KAFKA_SASL_PASSWORD for `sasl.password`) reaches every Kafka client Sluice opens, SLUICE_SCHEMA_REGISTRY_<key>
(e.g. SLUICE_SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO) every schema registry client. Secrets never appear in a repr
or in `describe()`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from ingest.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "SLUICE_KAFKA_BOOTSTRAP": "127.0.0.1:9092",
    "SLUICE_S3_ENDPOINT": "http://127.0.0.1:9000",
    "SLUICE_S3_REGION": "us-east-1",
    "SLUICE_S3_ACCESS_KEY_ID": "",
    "SLUICE_S3_SECRET_ACCESS_KEY": "",
    "SLUICE_S3_SESSION_TOKEN": "",
    "SLUICE_S3_CA_BUNDLE": "",
    "SLUICE_S3_PATH_STYLE": "true",
    "SLUICE_S3_SSE": "",
    "SLUICE_S3_SSE_KMS_KEY_ID": "",
    "SLUICE_CASSANDRA_HOSTS": "127.0.0.1",
    "SLUICE_CASSANDRA_PORT": "9042",
    "SLUICE_CASSANDRA_LOCAL_DC": "datacenter1",
    "SLUICE_CASSANDRA_USERNAME": "",
    "SLUICE_CASSANDRA_PASSWORD": "",
    "SLUICE_CASSANDRA_SSL_CA_FILE": "",
    "SLUICE_CASSANDRA_SSL_CERTFILE": "",
    "SLUICE_CASSANDRA_SSL_KEYFILE": "",
    "SLUICE_CASSANDRA_SSL_CHECK_HOSTNAME": "true",
    "SLUICE_CASSANDRA_SECURE_CONNECT_BUNDLE": "",
    "SLUICE_CASSANDRA_PROTOCOL_VERSION": "",
    "SLUICE_SCHEMA_REGISTRY_URL": "http://127.0.0.1:8081/apis/ccompat/v7",
}
# Outside the local stack these must be set (SLUICE_S3_ENDPOINT may be set empty: AWS's own endpoints).
REQUIRED_OUTSIDE_LOCAL = ("SLUICE_KAFKA_BOOTSTRAP", "SLUICE_S3_ENDPOINT", "SLUICE_CASSANDRA_HOSTS")
LOCAL_ENVS = ("", "local")

# librdkafka settings that every Kafka client of Sluice takes from SLUICE_KAFKA_<KEY> (and a connector's
# consumer./producer./admin.override.* keys): security and the client's identity.
KAFKA_CLIENT_KEYS = (
    "security.protocol", "sasl.mechanism", "sasl.username", "sasl.password",
    "sasl.oauthbearer.method", "sasl.oauthbearer.client.id", "sasl.oauthbearer.client.secret",
    "sasl.oauthbearer.token.endpoint.url", "sasl.oauthbearer.scope", "sasl.oauthbearer.extensions",
    "sasl.oauthbearer.config", "ssl.ca.location", "ssl.certificate.location", "ssl.key.location", "ssl.key.password",
    "ssl.keystore.location", "ssl.keystore.password", "ssl.endpoint.identification.algorithm",
    "enable.ssl.certificate.verification", "client.id",
)
KAFKA_SECRETS = frozenset({"sasl.password", "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config",
                           "ssl.key.password", "ssl.keystore.password"})
# confluent-kafka's SchemaRegistryClient settings from SLUICE_SCHEMA_REGISTRY_<KEY> (the URL: SLUICE_..._URL).
REGISTRY_CLIENT_KEYS = (
    "basic.auth.user.info", "bearer.auth.credentials.source", "bearer.auth.token", "bearer.auth.logical.cluster",
    "bearer.auth.identity.pool.id", "bearer.auth.client.id", "bearer.auth.client.secret", "bearer.auth.scope",
    "bearer.auth.issuer.endpoint.url", "ssl.ca.location", "ssl.certificate.location", "ssl.key.location",
    "ssl.key.password",
)
REGISTRY_SECRETS = frozenset({"basic.auth.user.info", "bearer.auth.token", "bearer.auth.client.secret",
                              "ssl.key.password"})
SSE_ALGORITHMS = ("AES256", "aws:kms")


def env_name(prefix: str, key: str) -> str:
    """The variable of a client setting: SLUICE_KAFKA_ + `sasl.password` -> SLUICE_KAFKA_SASL_PASSWORD."""
    return prefix + key.upper().replace(".", "_")


def stack_dir() -> Path:
    """The folder holding the local stack's jars, data, logs, pids and env file."""
    return Path(os.environ.get("SLUICE_STACK_DIR") or REPO_ROOT / ".stack").resolve()


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a `KEY=value` file (comments and blank lines ignored); a missing file is empty."""
    if not path.is_file():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def _secret(default: str = "") -> str:
    return field(default=default, repr=False)


def _flag(name: str, value: str) -> bool:
    if value.strip().lower() not in ("true", "false"):
        raise ConfigError(name, value, "true or false")
    return value.strip().lower() == "true"


def masked(settings: dict[str, str], secrets: frozenset[str]) -> dict[str, str]:
    return {key: ("****" if key in secrets and value else value) for key, value in settings.items()}


@dataclass(frozen=True)
class S3Settings:
    """An S3 endpoint (empty: AWS), optional static keys (empty: boto3's credential chain) and session token, a CA
    bundle for a private-CA endpoint, path-style or virtual-hosted addressing, and server-side encryption."""

    endpoint: str = ""
    region: str = "us-east-1"
    access_key_id: str = _secret()
    secret_access_key: str = _secret()
    session_token: str = _secret()
    ca_bundle: str = ""
    path_style: bool = True
    sse: str = ""  # "", AES256 or aws:kms (Confluent's s3.ssea.name)
    sse_kms_key_id: str = ""

    def __post_init__(self):
        if self.sse and self.sse not in SSE_ALGORITHMS:
            raise ConfigError("s3.ssea.name", self.sse, ", ".join(SSE_ALGORITHMS) + " (or empty: none)")
        if self.sse_kms_key_id and self.sse != "aws:kms":
            raise ConfigError("s3.sse.kms.key.id", self.sse_kms_key_id, "a key id only with s3.ssea.name=aws:kms")
        if self.sse == "aws:kms" and not self.sse_kms_key_id:
            raise ConfigError("s3.sse.kms.key.id", None, "the KMS key's id or ARN with s3.ssea.name=aws:kms (DuckDB, "
                              "which writes the landed hours and the models, needs it: it has no default key)")

    def put_args(self) -> dict[str, str]:
        """boto3 put_object / create_multipart_upload arguments for the configured server-side encryption."""
        if not self.sse:
            return {}
        args = {"ServerSideEncryption": self.sse}
        if self.sse_kms_key_id:
            args["SSEKMSKeyId"] = self.sse_kms_key_id
        return args


@dataclass(frozen=True)
class CassandraSettings:
    """Contact points, port, local DC, optional login, TLS, an Astra secure connect bundle, the protocol version
    (None: negotiated with the cluster, v5 down to v3)."""

    hosts: tuple[str, ...] = ("127.0.0.1",)
    port: int = 9042
    local_dc: str = "datacenter1"
    username: str = ""
    password: str = _secret()
    ssl_ca_file: str = ""  # set: TLS, the server's certificate verified against this CA
    ssl_certfile: str = ""  # with ssl_keyfile: a client certificate (mutual TLS)
    ssl_keyfile: str = ""
    ssl_check_hostname: bool = True
    secure_connect_bundle: str = ""  # DataStax Astra's zip: endpoints and TLS material; hosts are not used
    protocol_version: int | None = None


@dataclass(frozen=True)
class RegistrySettings:
    """A Confluent-API schema registry: its URL and confluent-kafka's client settings (auth, TLS)."""

    url: str = ""
    client: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def client_config(self, **extra: object) -> dict[str, object]:
        """SchemaRegistryClient settings; a bearer token without a source is a static one."""
        conf: dict[str, object] = {"url": self.url, **dict(self.client)}
        if "bearer.auth.token" in conf:
            conf.setdefault("bearer.auth.credentials.source", "STATIC_TOKEN")
        return conf | extra


def client_settings(get, prefix: str, keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple((key, value) for key in keys if (value := get(env_name(prefix, key))))


@dataclass(frozen=True)
class Connections:
    """Endpoints and credentials of Kafka, S3, Cassandra and the schema registry. Secrets never appear in its repr."""

    kafka_bootstrap: str
    s3_endpoint: str
    s3_region: str
    cassandra_hosts: tuple[str, ...]
    cassandra_port: int
    cassandra_local_dc: str
    s3_access_key_id: str = _secret()
    s3_secret_access_key: str = _secret()
    cassandra_username: str = ""
    cassandra_password: str = _secret()
    schema_registry_url: str = ""  # Confluent's Schema Registry API, for Avro topics
    kafka_client: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # KAFKA_CLIENT_KEYS settings
    registry_client: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # REGISTRY_CLIENT_KEYS settings
    s3_extra: S3Settings = field(default_factory=S3Settings, repr=False)  # session token, CA, addressing, SSE
    cassandra_extra: CassandraSettings = field(default_factory=CassandraSettings, repr=False)  # TLS, bundle, version

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, env_file: Path | None = None,
                 given: frozenset[str] = frozenset()) -> Connections:
        """The settings of the environment; `given`: the required variables the caller has from elsewhere (a
        connector's `bootstrap.servers`, or a service it does not use), not required outside the local stack."""
        environ = dict(os.environ if environ is None else environ)
        local = environ.get("SLUICE_ENV", "").strip().lower() in LOCAL_ENVS
        file_values = read_env_file(env_file or stack_dir() / "env") if local else {}
        if not local:
            bundle = bool(environ.get("SLUICE_CASSANDRA_SECURE_CONNECT_BUNDLE"))  # Astra: no contact points
            missing = [name for name in REQUIRED_OUTSIDE_LOCAL if name not in environ and name not in given
                       and not (name == "SLUICE_CASSANDRA_HOSTS" and bundle)]
            if missing:
                raise ConfigError(missing[0], None, f"a value: SLUICE_ENV={environ['SLUICE_ENV']} has no local "
                                  f"defaults (missing: {', '.join(missing)})")

        def get(key: str) -> str:
            if key in environ:
                return environ[key]
            if key in file_values:
                return file_values[key]
            if not local and key == "SLUICE_SCHEMA_REGISTRY_URL":
                return ""  # no registry unless named
            return DEFAULTS.get(key, "")

        port = get("SLUICE_CASSANDRA_PORT")
        if not port.isdigit():
            raise ConfigError("SLUICE_CASSANDRA_PORT", port, "a port number")
        version = get("SLUICE_CASSANDRA_PROTOCOL_VERSION").strip()
        if version and version not in ("3", "4", "5"):
            raise ConfigError("SLUICE_CASSANDRA_PROTOCOL_VERSION", version, "3, 4 or 5 (or empty: negotiated)")
        hosts = tuple(h.strip() for h in get("SLUICE_CASSANDRA_HOSTS").split(",") if h.strip())
        s3 = S3Settings(get("SLUICE_S3_ENDPOINT"), get("SLUICE_S3_REGION"), get("SLUICE_S3_ACCESS_KEY_ID"),
                        get("SLUICE_S3_SECRET_ACCESS_KEY"), get("SLUICE_S3_SESSION_TOKEN"),
                        get("SLUICE_S3_CA_BUNDLE"), _flag("SLUICE_S3_PATH_STYLE", get("SLUICE_S3_PATH_STYLE")),
                        get("SLUICE_S3_SSE"), get("SLUICE_S3_SSE_KMS_KEY_ID"))
        cassandra = CassandraSettings(
            hosts, int(port), get("SLUICE_CASSANDRA_LOCAL_DC"), get("SLUICE_CASSANDRA_USERNAME"),
            get("SLUICE_CASSANDRA_PASSWORD"), get("SLUICE_CASSANDRA_SSL_CA_FILE"), get("SLUICE_CASSANDRA_SSL_CERTFILE"),
            get("SLUICE_CASSANDRA_SSL_KEYFILE"),
            _flag("SLUICE_CASSANDRA_SSL_CHECK_HOSTNAME", get("SLUICE_CASSANDRA_SSL_CHECK_HOSTNAME")),
            get("SLUICE_CASSANDRA_SECURE_CONNECT_BUNDLE"), int(version) if version else None)
        return cls.of(kafka_bootstrap=get("SLUICE_KAFKA_BOOTSTRAP"), s3=s3, cassandra=cassandra,
                      registry=RegistrySettings(get("SLUICE_SCHEMA_REGISTRY_URL"), client_settings(
                          get, "SLUICE_SCHEMA_REGISTRY_", REGISTRY_CLIENT_KEYS)),
                      kafka_client=client_settings(get, "SLUICE_KAFKA_", KAFKA_CLIENT_KEYS))

    @classmethod
    def of(cls, kafka_bootstrap: str, s3: S3Settings, cassandra: CassandraSettings,
           registry: RegistrySettings | None = None, kafka_client: tuple[tuple[str, str], ...] = ()):
        """Connections from the settings of each service."""
        registry = registry or RegistrySettings()
        return cls(kafka_bootstrap=kafka_bootstrap, s3_endpoint=s3.endpoint, s3_region=s3.region,
                   s3_access_key_id=s3.access_key_id, s3_secret_access_key=s3.secret_access_key,
                   cassandra_hosts=cassandra.hosts, cassandra_port=cassandra.port,
                   cassandra_local_dc=cassandra.local_dc, cassandra_username=cassandra.username,
                   cassandra_password=cassandra.password, schema_registry_url=registry.url,
                   kafka_client=tuple(kafka_client), registry_client=registry.client, s3_extra=s3,
                   cassandra_extra=cassandra)

    @property
    def s3(self) -> S3Settings:
        e = self.s3_extra
        return S3Settings(self.s3_endpoint, self.s3_region, self.s3_access_key_id, self.s3_secret_access_key,
                          e.session_token, e.ca_bundle, e.path_style, e.sse, e.sse_kms_key_id)

    @property
    def cassandra(self) -> CassandraSettings:
        e = self.cassandra_extra
        return CassandraSettings(self.cassandra_hosts, self.cassandra_port, self.cassandra_local_dc,
                                 self.cassandra_username, self.cassandra_password, e.ssl_ca_file, e.ssl_certfile,
                                 e.ssl_keyfile, e.ssl_check_hostname, e.secure_connect_bundle, e.protocol_version)

    @property
    def registry(self) -> RegistrySettings:
        return RegistrySettings(self.schema_registry_url, self.registry_client)

    def kafka_settings(self) -> dict[str, str]:
        """librdkafka settings every client takes: bootstrap servers and the SLUICE_KAFKA_* security settings."""
        return {"bootstrap.servers": self.kafka_bootstrap, **dict(self.kafka_client)}

    def describe(self) -> dict[str, str]:
        """The settings as printable strings, secrets masked."""
        shown = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("kafka_client", "registry_client", "s3_extra", "cassandra_extra"):
                continue
            if isinstance(value, tuple):
                value = ",".join(value)
            shown[f.name] = "****" if (not f.repr and value) else str(value)
        for key, value in masked(dict(self.kafka_client), KAFKA_SECRETS).items():
            shown[f"kafka {key}"] = value
        for key, value in masked(dict(self.registry_client), REGISTRY_SECRETS).items():
            shown[f"schema registry {key}"] = value
        s3, cassandra = self.s3, self.cassandra
        shown |= {"s3_session_token": "****" if s3.session_token else "", "s3_ca_bundle": s3.ca_bundle,
                  "s3_path_style": str(s3.path_style).lower(), "s3_sse": s3.sse, "s3_sse_kms_key_id": s3.sse_kms_key_id,
                  "cassandra_ssl_ca_file": cassandra.ssl_ca_file, "cassandra_ssl_certfile": cassandra.ssl_certfile,
                  "cassandra_secure_connect_bundle": cassandra.secure_connect_bundle,
                  "cassandra_protocol_version": str(cassandra.protocol_version or "negotiated")}
        return shown
