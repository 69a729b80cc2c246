"""What every benchmark ends with: its figures as a table on stdout, and one line appended to bench/RESULTS.md
(date, commit, the machine's cores, the figures), so the trend over commits stays visible.

    from results import report
    report("sink_throughput", [("bare consumer", "ev/s", 195_769), ("sink", "ev/s", 117_000), ...],
           ratios={"sink / bare": 0.60}, notes="1,000,000 events, ±30 s")
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = "# Benchmark results\n\nOne line per run, appended by the benchmarks (`bench/results.py`); newest last.\n\n"


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                             cwd=RESULTS.parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, timeout=10, cwd=RESULTS.parent).stdout.strip()
        return out.stdout.strip() + ("+" if dirty else "") if out.returncode == 0 else "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def _show(value: float | int | str) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(rows: list[tuple[str, str, float | int | str]]) -> str:
    width = max(len(name) for name, _, _ in rows)
    return "\n".join(f"  {name:<{width}}  {_show(value):>14}  {unit}" for name, unit, value in rows)


def report(bench: str, rows: list[tuple[str, str, float | int | str]], ratios: dict[str, float] | None = None,
           notes: str = "") -> str:
    """Print the figures (name, unit, value) and ratios as a table; append their line to RESULTS.md."""
    print(f"\n{bench}" + (f" ({notes})" if notes else ""))
    print(table(rows))
    for name, value in (ratios or {}).items():
        print(f"  ratio {name}: {value:.2f}")
    figures = "; ".join([f"{name} {_show(value)} {unit}".strip() for name, unit, value in rows]
                        + [f"{name} = {value:.2f}" for name, value in (ratios or {}).items()])
    line = (f"- {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · `{bench}` · commit {_commit()} · "
            f"{os.cpu_count()} cores · {figures}" + (f" · {notes}" if notes else ""))
    if not RESULTS.exists():
        RESULTS.write_text(HEADER)
    with RESULTS.open("a") as out:
        out.write(line + "\n")
    return line
