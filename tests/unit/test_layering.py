"""The house rules of the source tree, read from the code: plain Python below Dagster glue, and no import cycle."""

import ast

from ingest.connections import REPO_ROOT

PACKAGES = ("ingest", "orchestration", "stack")


def module_name(path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Every first-party module and the modules it imports (at any depth of the file, lazy imports included)."""
    found = {}
    for package in PACKAGES:
        for path in (REPO_ROOT / package).rglob("*.py"):
            names = set()
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    names |= {alias.name for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
            found[module_name(path)] = names
    return found


def test_plain_python_packages_never_import_dagster():
    plain = {m: names for m, names in imports().items()
             if m.startswith("ingest") or m.startswith("orchestration.lib")}
    offenders = {m: sorted(n for n in names if n.split(".")[0].startswith("dagster")) for m, names in plain.items()}
    assert {m: n for m, n in offenders.items() if n} == {}


def test_ingest_does_not_reach_up_into_orchestration():
    offenders = {m: sorted(n for n in names if n.startswith("orchestration"))
                 for m, names in imports().items() if m.startswith("ingest")}
    assert {m: n for m, n in offenders.items() if n} == {}


def test_the_sink_and_the_lake_never_import_each_other():
    """The sink writes the ledger and the lake reads it, both through ingest.ledger below them."""
    graph = imports()

    def within(name: str, package: str) -> bool:
        return name == package or name.startswith(package + ".")

    offenders = {}
    for module, names in graph.items():
        for package, other in (("ingest.sink", "ingest.lake"), ("ingest.lake", "ingest.sink")):
            if within(module, package):
                found = {n for n in names if n in graph and within(n, other)}
                if found:
                    offenders[module] = sorted(found)
    assert offenders == {}


def test_there_is_no_import_cycle():
    graph = imports()
    modules = set(graph)
    edges = {m: {n for n in names if n in modules and n != m} for m, names in graph.items()}
    cycles, state = [], {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                cycles.append(trail[trail.index(target):] + [target])
            elif target not in state:
                visit(target, trail + [target])
        state[module] = "done"

    for module in sorted(modules):
        if module not in state:
            visit(module, [module])
    assert cycles == []
