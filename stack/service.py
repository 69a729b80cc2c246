"""What every stack service has: a process, the ports it binds, its endpoint variables, a readiness probe."""

from __future__ import annotations

import functools
import os
import re
import shutil
import socket
import string
import subprocess
from pathlib import Path

from ingest.connections import Connections
from stack.procs import Proc
from stack.settings import STACK_SRC, StackSettings
from stack.tls import write_private


def _java_major(binary: str) -> int | None:
    try:
        out = subprocess.run(
            [binary, "-XshowSettings:properties", "-version"], capture_output=True, text=True, timeout=30
        ).stderr
    except OSError:
        return None
    match = re.search(r"java\.specification\.version = (\d+)", out)
    return int(match.group(1)) if match else None


@functools.cache
def java() -> str:
    """A JDK 17 `java`: Kafka 4 needs 17 or newer, Cassandra 5.0 runs on 11 or 17, so 17 serves both.

    JAVA_HOME first, then `java` on the PATH, then the JDKs under /usr/lib/jvm.
    """
    home = os.environ.get("JAVA_HOME")
    candidates = [str(Path(home) / "bin" / "java")] if home else []
    candidates += [shutil.which("java") or "", *map(str, sorted(Path("/usr/lib/jvm").glob("*17*/bin/java")))]
    seen = {}
    for binary in filter(None, candidates):
        seen[binary] = _java_major(binary)
        if seen[binary] == 17:
            return binary
    raise SystemExit(
        f"no JDK 17 found (looked at {seen or 'nothing'}); install one "
        "(Debian/Ubuntu: apt-get install openjdk-17-jdk-headless) or set JAVA_HOME to it"
    )


def heap_flags(heap: str) -> list[str]:
    """-Xms/-Xmx for a maximum like "512m" or "1G"; the heap starts at a quarter: a small idle footprint."""
    digits, unit = heap[:-1], heap[-1:].lower()
    if not digits.isdigit() or unit not in ("m", "g"):
        raise SystemExit(f"heap size {heap!r} must look like 512m or 1G")
    mib = int(digits) * (1024 if unit == "g" else 1)
    return [f"-Xms{max(mib // 4, 64)}m", f"-Xmx{mib}m"]


def render(template: str, target: Path, private: bool = False, **values: object) -> Path:
    """Fill a template of stack/conf (`${name}` placeholders) into the stack folder; `private`: it holds a key or a
    password, so only its owner may read it."""
    text = string.Template((STACK_SRC / "conf" / template).read_text()).substitute(values)
    if private:
        write_private(target, text.encode())
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Service:
    name: str
    # Serves the stack's TLS certificate: a process started before `up` made new certificates needs a restart.
    uses_tls = False
    # The variable that, set in the environment to something else than the local endpoint,
    # means an external service is used and the stack leaves this one alone.
    endpoint_var: str

    def __init__(self, settings: StackSettings):
        self.settings = settings
        self.proc = Proc(self.name, settings.path("run"), settings.path("logs"))

    def ports(self) -> dict[str, int]:
        """Ports the service binds, by the variable that sets each."""
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """What clients need to reach the local service; written to the stack's env file."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Resolve jars, render config, format storage: everything before the first start."""

    def argv(self) -> list[str]:
        raise NotImplementedError

    def probe(self, connections: Connections) -> str:
        """One real request; returns a summary, raises when the service does not answer."""
        raise NotImplementedError

    def after_ready(self) -> str | None:
        """What `up` does once the local service answers, each time (users, grants); a summary or None."""
        return None

    def secured(self) -> str | None:
        """The secured endpoint this service serves beside its plain one (`.stack/secure.env`), or None."""
        return None

    def probe_secured(self) -> str:
        """One real request through the secured endpoint, as a client of `.stack/secure.env` makes it."""
        raise NotImplementedError

    @property
    def endpoint(self) -> str:
        return os.environ.get(self.endpoint_var) if self.is_external() else self.env()[self.endpoint_var]

    def is_external(self) -> bool:
        value = os.environ.get(self.endpoint_var)
        return value is not None and value != self.env()[self.endpoint_var]

    def listening(self) -> bool:
        """The client port accepts connections (cheap, quiet check before the real probe)."""
        return port_open(self.settings.host, next(iter(self.ports().values())))
