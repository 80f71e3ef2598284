"""``export --analytics``: the analytics views travel as tables (``OUT/analytics/<view>``), so a BI tool
reading the lake of several accounts gets what ``zoom-etl report`` answers for each account."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from etl.analytics import load_reports
from etl.simulator.server import RunningSimulator


def zoom_etl(*args: str, env: dict[str, str] | None = None) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM_")}
    done = subprocess.run(
        [sys.executable, "-m", "etl", *args], env={**environ, **(env or {})}, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()


def rows(table: Any, columns: list[str]) -> list[tuple[Any, ...]]:
    return sorted((tuple(r[c] for c in columns) for r in table.to_pylist()), key=repr)


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_the_lake_answers_what_report_answers(
    simulator_factory: Callable[..., RunningSimulator], tmp_path: Path, fmt: str
) -> None:
    if fmt == "delta":
        deltalake = pytest.importorskip("deltalake")
    out = tmp_path / "lake"
    warehouses = []
    for seed, account in enumerate(("bi-one", "bi-two"), start=1):
        sim = simulator_factory(seed=seed, account_id=account)
        warehouse = tmp_path / f"{account}.duckdb"
        zoom_etl("sync", env=sim.environ(warehouse))
        zoom_etl("export", fmt, "--analytics", "--out", str(out), "--warehouse", str(warehouse))
        warehouses.append(warehouse)
    names = [r.name for r in load_reports()]
    assert names and {p.name for p in (out / "analytics").iterdir()} == set(names)
    for name in names:
        expected: list[tuple[Any, ...]] = []
        for warehouse in warehouses:
            answer = tmp_path / f"{name}-{warehouse.stem}.parquet"
            report_args = ("--format", "parquet", "--out", str(answer), "--warehouse", str(warehouse))
            zoom_etl("report", name, *report_args)
            report = pq.read_table(answer)
            columns = report.column_names
            expected += rows(report, columns)
        if fmt == "parquet":
            lake = duckdb.sql(
                f"SELECT * FROM read_parquet('{out}/analytics/{name}/**/*.parquet', hive_partitioning = true,"
                " hive_types = {'account_id': VARCHAR})"
            ).to_arrow_table()
        else:
            lake = deltalake.DeltaTable(str(out / "analytics" / name)).to_pyarrow_table()
        assert expected, name
        assert rows(lake, columns) == sorted(expected, key=repr), name
