"""S3 on loopback: S3Proxy over a folder of the stack (.stack/data/s3), so the lake outlives the process."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ingest.connections import Connections
from ingest.health import check_s3
from stack.jars import ensure_jars, jar_dir
from stack.service import Service, heap_flags, java, render
from stack.settings import LOCAL_S3_KEY, STACK_SRC

# S3Proxy writes a PUT's body to "<object path>-<random uuid>" and renames it into place; a kill in between leaves
# that file behind, and S3Proxy would list it as an object of that name.
_INTERRUPTED_PUT = re.compile(r".+-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def set_aside_interrupted_puts(basedir: Path, aside: Path) -> list[Path]:
    """Move the files of PUTs a kill cut short out of the store (never deleted), while the server is down."""
    moved = []
    for path in sorted(basedir.rglob("*")):
        if path.is_file() and _INTERRUPTED_PUT.fullmatch(path.name):
            target = aside / path.relative_to(basedir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
            moved.append(target)
    return moved


class S3(Service):
    name = "s3"
    endpoint_var = "SLUICE_S3_ENDPOINT"

    def ports(self) -> dict[str, int]:
        return {"SLUICE_S3_PORT": self.settings.s3_port}

    def env(self) -> dict[str, str]:
        return {
            "SLUICE_S3_ENDPOINT": f"http://{self.settings.host}:{self.settings.s3_port}",
            "SLUICE_S3_REGION": "us-east-1",
            "SLUICE_S3_ACCESS_KEY_ID": LOCAL_S3_KEY,
            "SLUICE_S3_SECRET_ACCESS_KEY": LOCAL_S3_KEY,
        }

    @property
    def _config(self):
        return self.settings.path("conf", "s3proxy.properties")

    def prepare(self) -> None:
        ensure_jars(self.settings, "s3proxy")
        data = self.settings.path("data", "s3")
        data.mkdir(parents=True, exist_ok=True)
        aside = self.settings.path("data", "s3-interrupted")
        for path in set_aside_interrupted_puts(data, aside):
            print(f"s3         an interrupted PUT's partial file set aside: {path}", flush=True)
        render("s3proxy.properties", self._config, host=self.settings.host, port=self.settings.s3_port,
               key=LOCAL_S3_KEY, basedir=data)

    def argv(self) -> list[str]:
        return [
            java(),
            *heap_flags(self.settings.s3_heap),
            "-XX:+UseSerialGC",
            "-XX:CICompilerCount=2",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlogback.configurationFile={STACK_SRC / 'conf' / 's3proxy-logback.xml'}",
            "-cp",
            f"{jar_dir(self.settings, 's3proxy')}/*",
            "org.gaul.s3proxy.Main",
            "--properties",
            str(self._config),
        ]

    def probe(self, connections: Connections) -> str:
        return check_s3(connections)
