"""A Confluent-compatible schema registry: Apicurio Registry 2.4 (API at /apis/ccompat/v7) on an H2 file database
under .stack/data/registry, so schemas outlive the process; built once into a runnable jar from Maven Central."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from ingest.connections import Connections
from stack.service import Service, heap_flags, java
from stack.settings import STACK_SRC, StackSettings

BUILD = STACK_SRC / "conf" / "registry"  # pom.xml and the Maven settings that build the jar
JAR = "apicurio-registry-runner.jar"
# Confluent's default; Apicurio's is no check at all.
COMPATIBILITY = "BACKWARD"


def _pom_digest() -> str:
    return hashlib.sha256((BUILD / "pom.xml").read_bytes()).hexdigest()[:16]


def ensure_runner(settings: StackSettings) -> Path:
    """The registry's runnable jar, building it with Maven first unless this pom already did."""
    target = settings.path("registry")
    jar, stamp = target / JAR, target / ".built"
    if jar.is_file() and stamp.is_file() and stamp.read_text().strip() == _pom_digest():
        return jar
    if shutil.which("mvn") is None:
        raise SystemExit("mvn not found: install Maven (Debian/Ubuntu: apt-get install maven)")
    build = target / "build"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    shutil.copy(BUILD / "pom.xml", build / "pom.xml")
    print("building the schema registry (Apicurio Registry) from Maven Central ...", flush=True)
    began = time.monotonic()
    cmd = [
        "mvn",
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-s",
        str(BUILD / "settings.xml"),
        "-f",
        str(build / "pom.xml"),
        f"-Dmaven.repo.local={settings.path('m2')}",
        "package",
        "-DskipTests",
        "-D%prod.quarkus.package.type=uber-jar",  # the app's own %prod. setting wins over the plain one
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    runners = sorted((build / "target").glob("*-runner.jar"))
    if result.returncode != 0 or not runners:
        tail = "\n".join(f"{result.stdout}{result.stderr}".splitlines()[-60:])
        raise SystemExit(f"mvn failed building the schema registry ({result.returncode}) in {build}:\n{tail}")
    runners[0].replace(jar)
    stamp.write_text(_pom_digest() + "\n")
    shutil.rmtree(build)
    print(f"built the schema registry ({jar.stat().st_size >> 20} MiB) in {time.monotonic() - began:.0f}s", flush=True)
    return jar


def _call(url: str, method: str = "GET", body: dict | None = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/vnd.schemaregistry.v1+json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


class Registry(Service):
    name = "registry"
    endpoint_var = "SLUICE_SCHEMA_REGISTRY_URL"

    def ports(self) -> dict[str, int]:
        return {"SLUICE_SCHEMA_REGISTRY_PORT": self.settings.registry_port}

    def env(self) -> dict[str, str]:
        return {"SLUICE_SCHEMA_REGISTRY_URL": f"{self._base}/apis/ccompat/v7"}

    @property
    def _base(self) -> str:
        return f"http://{self.settings.host}:{self.settings.registry_port}"

    def is_external(self) -> bool:
        # A shell that sourced .stack/secure.env points at this registry through its TLS proxy (registry-tls).
        secure = f"https://{self.settings.host}:{self.settings.registry_secure_port}/apis/ccompat/v7"
        return super().is_external() and os.environ.get(self.endpoint_var) != secure

    def prepare(self) -> None:
        ensure_runner(self.settings)
        self.settings.path("data", "registry").mkdir(parents=True, exist_ok=True)

    def argv(self) -> list[str]:
        # WRITE_DELAY=0: H2 writes each commit at once (default: within 500 ms), so a SIGKILL loses no schema.
        database = f"jdbc:h2:file:{self.settings.path('data', 'registry', 'registry')};WRITE_DELAY=0"
        return [
            java(),
            *heap_flags(self.settings.registry_heap),
            "-XX:+UseSerialGC",
            "-XX:CICompilerCount=2",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dquarkus.http.host={self.settings.host}",
            f"-Dquarkus.http.port={self.settings.registry_port}",
            f"-Dquarkus.datasource.jdbc.url={database}",
            '-Dquarkus.log.category."io.sentry".level=ERROR',  # Sentry is off; it warns so at the first request
            "-jar",
            str(self.settings.path("registry", JAR)),
        ]

    def probe(self, connections: Connections) -> str:
        """Subjects and global compatibility through the Confluent API. The local registry gets BACKWARD where it
        reports NONE, which in Apicurio means no global rule (a PUT of NONE deletes it); other levels are kept."""
        url = self.endpoint if self.is_external() else self.env()[self.endpoint_var]
        level = _call(f"{url}/config")["compatibilityLevel"]
        if level == "NONE" and not self.is_external():
            level = _call(f"{url}/config", "PUT", {"compatibility": COMPATIBILITY})["compatibility"]
        summary = f"{len(_call(f'{url}/subjects'))} subject(s), compatibility {level}"
        if self.is_external():
            return summary
        return f"Apicurio Registry {_call(f'{self._base}/apis/registry/v2/system/info')['version']}, {summary}"
