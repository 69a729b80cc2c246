"""Server jars resolved from Maven Central by stack/pom.xml, cached under the stack folder."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path

from stack.settings import STACK_SRC, StackSettings

POM = STACK_SRC / "pom.xml"


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()[:16]


def jar_dir(settings: StackSettings, profile: str) -> Path:
    return settings.path("jars", profile)


def ensure_jars(settings: StackSettings, profile: str) -> Path:
    """The folder of `profile`'s jars, resolving them with Maven first unless this pom already did."""
    target = jar_dir(settings, profile)
    stamp = target / ".resolved"
    if stamp.is_file() and stamp.read_text().strip() == _pom_digest():
        return target
    if shutil.which("mvn") is None:
        raise SystemExit("mvn not found: install Maven (Debian/Ubuntu: apt-get install maven)")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    print(f"resolving {profile} jars from Maven Central ...", flush=True)
    began = time.monotonic()
    cmd = [
        "mvn",
        "-q",
        "-B",
        "-f",
        str(POM),
        "-P",
        profile,
        f"-Dmaven.repo.local={settings.path('m2')}",
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={staging}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"mvn failed for {profile} ({result.returncode}):\n{result.stdout}{result.stderr}")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    stamp.write_text(_pom_digest() + "\n")
    count = sum(1 for _ in target.glob("*.jar"))
    print(f"resolved {count} {profile} jars in {time.monotonic() - began:.0f}s", flush=True)
    return target
