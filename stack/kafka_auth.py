"""SCRAM users and ACLs of the local Kafka's SASL_SSL listener, and a client of that listener.

A fresh data directory gets the user at format time (`StorageTool format --add-scram`, Kafka's own tool, no extra
JVM: `up` runs the format anyway). A directory formatted before the secured listener existed gets it after start
through the admin API, which is what Kafka's ConfigCommand calls (`kafka-configs --alter --add-config
'SCRAM-SHA-512=[...]' --entity-type users`): ConfigCommand and AclCommand are no longer in the kafka_2.13 jar of
Kafka 4 (they moved to kafka-tools), and a JVM per call would cost seconds of `up`.

ACLs go through the plaintext listener, whose ANONYMOUS principal is a super user (see conf/kafka.properties).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from confluent_kafka.admin import AdminClient

SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
SCRAM_ITERATIONS = 8192  # StorageTool's default is 4096, Kafka's minimum; the same either way for the client
TIMEOUT_S = 10.0

# What Sluice's clients do on a cluster like Confluent Cloud or MSK: produce and consume any topic (create it on first
# use, read its config), commit offsets in any group, the DLQ producer's idempotent transactions.
ACLS = {
    ("TOPIC", "*"): ("READ", "WRITE", "CREATE", "DESCRIBE", "DESCRIBE_CONFIGS"),
    ("GROUP", "*"): ("READ", "DESCRIBE"),
    ("TRANSACTIONAL_ID", "*"): ("WRITE", "DESCRIBE"),
    ("BROKER", "kafka-cluster"): ("DESCRIBE", "CREATE", "IDEMPOTENT_WRITE", "DESCRIBE_CONFIGS"),
}


def format_args(user: str, password: str) -> list[str]:
    """StorageTool arguments that create the user's SCRAM credentials in the first metadata records."""
    args = []
    for mechanism in SCRAM_MECHANISMS:
        args += ["--add-scram", f"{mechanism}=[name={user},iterations={SCRAM_ITERATIONS},password={password}]"]
    return args


def admin(bootstrap: str) -> AdminClient:
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap})


def missing_mechanisms(client: AdminClient, user: str) -> list[str]:
    """The SCRAM mechanisms the user has no credential for (all of them when Kafka does not know the user)."""
    from confluent_kafka import KafkaError, KafkaException

    future = client.describe_user_scram_credentials([user], request_timeout=TIMEOUT_S)[user]
    try:
        description = future.result(timeout=TIMEOUT_S)
    except KafkaException as exc:
        if exc.args[0].code() == KafkaError.RESOURCE_NOT_FOUND:
            return list(SCRAM_MECHANISMS)
        raise
    have = {info.mechanism.name.replace("_", "-") for info in description.scram_credential_infos}
    return [m for m in SCRAM_MECHANISMS if m not in have]


def set_password(client: AdminClient, user: str, password: str, mechanisms: list[str]) -> None:
    """Create or replace the user's credentials for `mechanisms` (ConfigCommand's `--add-config`)."""
    from confluent_kafka.admin import ScramCredentialInfo, ScramMechanism, UserScramCredentialUpsertion

    for mechanism in mechanisms:  # one request each: Kafka refuses two changes of one user in one request
        upsert = UserScramCredentialUpsertion(
            user, ScramCredentialInfo(ScramMechanism[mechanism.replace("-", "_")], SCRAM_ITERATIONS), password.encode()
        )
        for future in client.alter_user_scram_credentials([upsert], request_timeout=TIMEOUT_S).values():
            future.result(timeout=TIMEOUT_S)


def _bindings(user: str) -> list:
    from confluent_kafka.admin import AclBinding, AclOperation, AclPermissionType, ResourcePatternType, ResourceType

    return [
        AclBinding(ResourceType[kind], name, ResourcePatternType.LITERAL, f"User:{user}", "*", AclOperation[op],
                   AclPermissionType.ALLOW)
        for (kind, name), operations in ACLS.items()
        for op in operations
    ]


def ensure_acls(client: AdminClient, user: str) -> int:
    """Create the ACLs of ACLS that the user lacks; returns how many were created."""
    from confluent_kafka.admin import (
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    everything_of_user = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, f"User:{user}", None,
                                          AclOperation.ANY, AclPermissionType.ANY)
    present = set(client.describe_acls(everything_of_user, request_timeout=TIMEOUT_S).result(timeout=TIMEOUT_S))
    missing = [b for b in _bindings(user) if b not in present]
    if missing:
        for future in client.create_acls(missing, request_timeout=TIMEOUT_S).values():
            future.result(timeout=TIMEOUT_S)
    return len(missing)


def secure_config(bootstrap: str, user: str, password: str, ca: str, mechanism: str = "SCRAM-SHA-512",
                  **extra: object) -> dict[str, object]:
    """librdkafka settings for the SASL_SSL listener: SCRAM login, the server certificate checked against the CA and
    its name (librdkafka's default `ssl.endpoint.identification.algorithm=https`)."""
    return {"bootstrap.servers": bootstrap, "security.protocol": "SASL_SSL", "sasl.mechanism": mechanism,
            "sasl.username": user, "sasl.password": password, "ssl.ca.location": ca, **extra}


def check_secure(config: dict[str, object], timeout: float = 5.0) -> str:
    """Log in and list topics through the secured listener; raises with librdkafka's reason when it cannot, at once
    when the reason is a failed authentication (librdkafka itself would retry until the timeout)."""
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient

    errors: list[KafkaError] = []
    client = AdminClient({**config, "error_cb": errors.append, "log_level": 0})  # errors are raised, not logged
    deadline = time.monotonic() + timeout
    while True:
        try:
            metadata = client.list_topics(timeout=1.0)
            return f"{config['sasl.mechanism']} login as {config['sasl.username']}, {len(metadata.topics)} topic(s)"
        except KafkaException:
            client.poll(0)  # serves error_cb
            refused = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
            if refused:
                raise KafkaException(refused[0]) from None
            if time.monotonic() > deadline:  # the first specific reason (a TLS failure, say), not "transport failure"
                reasons = [e for e in errors if e.code() != KafkaError._ALL_BROKERS_DOWN]
                if reasons:
                    raise KafkaException(reasons[0]) from None
                raise
