"""Fixtures for the real Kafka, S3, Cassandra and schema registry named by the stack's env file (or the environment),
shared by the integration and e2e tests; markers by folder; the stack shared by parallel workers.

A service that does not answer fails the tests that need it; nothing here ever skips.

`./dev test` runs the suite on pytest-xdist workers (`-n`). The workers share one stack: a test that stops, freezes or
kills a service (marker `disrupts_stack`) holds the stack alone (support/stack_lock.py), every other test of the
stack holds it shared. A module of integration or e2e tests runs on one worker (StackScheduling below), so its
module-scoped fixtures (sample lakes, Dagster processes) are made once; the e2e modules in SHARED share one.
"""

from __future__ import annotations

import uuid

import pytest

from ingest.cassandra_client import cassandra_cluster
from ingest.clients import kafka_admin, s3_client
from ingest.connections import Connections
from ingest.health import CHECKS
from support.stack_lock import stack_lock

STACK_DIRS = ("tests/integration/", "tests/e2e/")
# Tests that share the package-scoped `dagster dev` of tests/e2e/conftest.py: one unit of work (node id prefixes).
SHARED = {"tests/e2e/test_dagster_ui.py": "e2e-dagster",
          "tests/e2e/test_run_recovery.py::test_a_run_whose_worker_is_killed": "e2e-dagster"}
# Modules of long tests that share nothing (each starts its own Dagster on its own home): a unit per test. Not
# test_demo.py: every `./dev demo` uses the stack's one demo topic, sink group and Dagster home.
ONE_BY_ONE = {"tests/e2e/test_run_recovery.py"}


def work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to: the tests of a unit run on one worker, in order."""
    path = nodeid.split("::", 1)[0]
    shared = [unit for prefix, unit in SHARED.items() if nodeid.startswith(prefix)]
    if shared:
        return shared[0]
    return path if path.startswith(STACK_DIRS) and path not in ONE_BY_ONE else nodeid


def _uses_stack(item: pytest.Item) -> bool:
    return "/integration/" in str(item.path) or "/e2e/" in str(item.path)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/integration/" in str(item.path):
            item.add_marker(pytest.mark.integration)
        if "/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """The workers take `work_unit`s, handed out in collection order (e2e, integration, unit: the longest first).
    xdist's own `loadgroup` cannot group them under pytest 9.2, whose node ids no longer take its `@group` suffix."""
    from xdist.scheduler import LoadScopeScheduling

    class StackScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False
    return StackScheduling(config, log)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Setup, call and teardown of a test of the stack under the stack's lock: alone if it disrupts the stack."""
    if not _uses_stack(item):
        return (yield)
    with stack_lock(exclusive=item.get_closest_marker("disrupts_stack") is not None):
        return (yield)


@pytest.fixture(scope="session")
def connections() -> Connections:
    return Connections.from_env()


def _reachable(connections: Connections, service: str) -> None:
    try:
        CHECKS[service](connections)
    except Exception as exc:  # any client error: the stack is not there
        pytest.fail(
            f"{service} is not reachable with {connections.describe()}: {exc!r}; start the stack with ./dev up",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def kafka(connections: Connections):
    _reachable(connections, "kafka")
    return kafka_admin(connections)


@pytest.fixture(scope="session")
def s3(connections: Connections):
    _reachable(connections, "s3")
    return s3_client(connections)


@pytest.fixture(scope="session")
def cassandra(connections: Connections):
    _reachable(connections, "cassandra")
    cluster = cassandra_cluster(connections)
    session = cluster.connect()
    yield session
    cluster.shutdown()


@pytest.fixture(scope="session")
def registry_url(connections: Connections) -> str:
    """The schema registry's Confluent API (SLUICE_SCHEMA_REGISTRY_URL, else the stack's env file)."""
    return connections.schema_registry_url


@pytest.fixture(scope="session")
def registry(connections: Connections):
    """A SchemaRegistryClient for the stack's registry."""
    from confluent_kafka.schema_registry import SchemaRegistryClient

    _reachable(connections, "registry")
    return SchemaRegistryClient({"url": connections.schema_registry_url})


@pytest.fixture
def unique_name() -> str:
    """A name no other test or run uses: valid as a Kafka topic, S3 bucket and CQL identifier."""
    return f"t{uuid.uuid4().hex[:16]}"


@pytest.fixture(scope="session")
def lake(connections: Connections, s3):
    """A DuckDB connection that reads the lake through the stack's S3 endpoint."""
    from ingest.lake.connection import lake_connection

    con = lake_connection(connections.s3)
    yield con
    con.close()


@pytest.fixture
def names(unique_name: str) -> dict[str, str]:
    """Unique topic, bucket, connector and DLQ names for one test."""
    return {"topic": f"{unique_name}-ev", "bucket": unique_name, "name": f"{unique_name}-sink",
            "dlq": f"{unique_name}-dlq"}


def pytest_terminal_summary(terminalreporter) -> None:
    """Seconds spent per test folder (setup + call + teardown, summed over workers): where the suite's time goes."""
    spent: dict[str, float] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if isinstance(report, pytest.TestReport):
                folder = "/".join(report.nodeid.split("/")[:2]) if report.nodeid.startswith("tests/") else "other"
                spent[folder] = spent.get(folder, 0.0) + report.duration
    if spent:
        terminalreporter.write_sep("=", "time per folder (summed over workers)")
        for folder, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{seconds:8.1f}s  {folder}")
