"""The lock files `./dev` installs from agree with pyproject.toml and with each other."""

import tomllib

from packaging.requirements import Requirement

from ingest.connections import REPO_ROOT

REFRESH = "refresh both with: .venv/bin/uv lock && .venv/bin/uv export --frozen --extra dev --no-emit-project " \
          "--no-hashes -o requirements.lock"


def locked() -> dict:
    return tomllib.loads((REPO_ROOT / "uv.lock").read_text())


def test_uv_lock_was_made_from_the_current_pyproject():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    declared = {(r.name, str(r.specifier)) for r in map(Requirement, project["dependencies"])}
    declared |= {(r.name, str(r.specifier)) for r in map(Requirement, project["optional-dependencies"]["dev"])}
    sluice = next(p for p in locked()["package"] if p["name"] == "sluice")
    recorded = {(r["name"], str(Requirement(f"x{r.get('specifier', '')}").specifier))
                for r in sluice["metadata"]["requires-dist"]}
    assert recorded == declared, REFRESH


def test_requirements_lock_pins_the_versions_of_uv_lock():
    versions: dict[str, set[str]] = {}
    for package in locked()["package"]:
        versions.setdefault(package["name"], set()).add(package["version"])
    lines = (REPO_ROOT / "requirements.lock").read_text().splitlines()
    pins = [Requirement(line.split(" ;")[0].strip()) for line in lines if line and not line.startswith((" ", "#"))]
    assert pins, "requirements.lock pins nothing"
    wrong = [str(r) for r in pins if str(r.specifier).removeprefix("==") not in versions.get(r.name, set())]
    assert wrong == [], REFRESH
