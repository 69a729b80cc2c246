import socket
import sys

import pytest

from stack import control
from stack.service import Service, heap_flags
from stack.settings import StackSettings


def settings(tmp_path, **ports) -> StackSettings:
    values = dict(
        kafka_port=0, kafka_controller_port=0, cassandra_port=0, cassandra_storage_port=0, s3_port=0, registry_port=0
    )
    values.update(ports)
    return StackSettings(
        root=tmp_path, host="127.0.0.1", kafka_heap="512m", cassandra_heap="1G", s3_heap="256m", registry_heap="256m",
        start_timeout=5,
        **values,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_up_refuses_a_port_taken_by_another_program_and_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.delenv("SLUICE_KAFKA_BOOTSTRAP", raising=False)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = {
            name: free_port()
            for name in (
                "kafka_controller_port", "cassandra_port", "cassandra_storage_port", "s3_port", "registry_port"
            )
        }
        with pytest.raises(control.StackError, match=f"127.0.0.1:{taken} is taken.*SLUICE_KAFKA_PORT"):
            control.up(settings(tmp_path, kafka_port=taken, **ports), ["kafka"])
    assert not (tmp_path / "run").exists()


class Crashing(Service):
    name = "crashing"
    endpoint_var = "SLUICE_TEST_CRASHING"

    def ports(self):
        return {"SLUICE_TEST_CRASHING_PORT": free_port()}

    def env(self):
        return {self.endpoint_var: "nowhere"}

    def argv(self):
        return [sys.executable, "-c", "print('bad config: no such key'); raise SystemExit(3)"]


def test_a_service_that_dies_during_start_up_fails_with_its_log(tmp_path, monkeypatch):
    monkeypatch.delenv("SLUICE_TEST_CRASHING", raising=False)
    svc = Crashing(settings(tmp_path))
    svc.proc.start(svc.argv(), cwd=tmp_path)

    with pytest.raises(
        control.StackError, match="(?s)crashing exited during start-up.*bad config: no such key"
    ):
        control._wait_ready(svc, timeout=30)


def test_a_service_pointed_elsewhere_is_external(tmp_path, monkeypatch):
    svc = control.services(settings(tmp_path, kafka_port=9092), ["kafka"])[0]
    monkeypatch.setenv("SLUICE_KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    assert not svc.is_external()  # the local endpoint itself, e.g. after `source .stack/env`
    monkeypatch.setenv("SLUICE_KAFKA_BOOTSTRAP", "kafka.internal:9092")
    assert svc.is_external()
    assert svc.endpoint == "kafka.internal:9092"


def test_unknown_service_names_the_allowed_ones(tmp_path):
    with pytest.raises(control.StackError, match="unknown service.*zookeeper.*allowed: kafka, cassandra, s3, registry"):
        control.services(settings(tmp_path), ["zookeeper"])


def test_heap_starts_at_a_quarter_of_its_maximum():
    assert heap_flags("512m") == ["-Xms128m", "-Xmx512m"]
    assert heap_flags("1G") == ["-Xms256m", "-Xmx1024m"]
    with pytest.raises(SystemExit, match="'1.5G'"):
        heap_flags("1.5G")
