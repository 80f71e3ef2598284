"""How long the read commands take to answer, against DuckDB alone: ``python -m bench.startup``.

    python -m bench.startup [--warehouse PATH] [--runs N]

Each command runs ``--runs`` times in a fresh process (what a user or a script pays, imports included); the
figure is the median wall time. The baseline is a Python process that opens the same read copy with
DuckDB and answers ``select 1``. The bar: every read command within 0.25 s of the baseline. Without
``--warehouse`` a demo warehouse of the tiny profile is made in a temporary folder first.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

BAR_SECONDS = 0.25


def _commands(warehouse: Path) -> dict[str, list[str]]:
    read_copy = warehouse.with_name(f"{warehouse.stem}_read{warehouse.suffix}")
    opened = read_copy if read_copy.exists() else warehouse
    baseline = (
        f"import duckdb; duckdb.connect({str(opened)!r}, read_only=True).execute('select 1').fetchall()"
    )
    cli = [sys.executable, "-m", "etl"]
    at = ["--warehouse", str(warehouse)]
    return {
        "duckdb alone (select 1)": [sys.executable, "-c", baseline],
        "zoom-etl sql 'select 1'": [*cli, "sql", "select 1", *at],
        "zoom-etl status": [*cli, "status", *at],
        "zoom-etl status --check": [*cli, "status", "--check", "--max-age", "1000d", *at],
        "zoom-etl report daily_meetings": [*cli, "report", "daily_meetings", *at],
        "zoom-etl report user_engagement": [*cli, "report", "user_engagement", *at],
    }


def _median_seconds(command: Sequence[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_startup(warehouse: Path, *, runs: int = 11) -> dict[str, float]:
    """Median seconds per command (see the module docstring), the baseline first."""
    return {name: _median_seconds(command, runs) for name, command in _commands(warehouse).items()}


def _demo_warehouse(folder: Path) -> Path:
    path = folder / "startup.duckdb"
    command = [sys.executable, "-m", "etl", "demo", "--profile", "tiny", "--warehouse", str(path)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n")[0])
    parser.add_argument("--warehouse", type=Path, help="a synced warehouse (default: a tiny demo one)")
    parser.add_argument("--runs", type=int, default=11, help="runs per command; the median is shown")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        warehouse = args.warehouse or _demo_warehouse(Path(folder))
        figures = bench_startup(warehouse, runs=args.runs)
    baseline = next(iter(figures.values()))
    print(f"{'command':<34} {'median s':>9} {'over duckdb':>12}  bar: within {BAR_SECONDS} s")
    for name, seconds in figures.items():
        over = seconds - baseline
        verdict = "" if seconds == baseline else ("met" if over <= BAR_SECONDS else "NOT MET")
        print(f"{name:<34} {seconds:>9.3f} {over:>+12.3f}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
