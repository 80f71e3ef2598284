"""``zoom-etl export`` through click's CliRunner: both formats, the summary, exit codes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import polars as pl
import pytest
from click.testing import CliRunner, Result
from export_rows import ROWS, make_warehouse

from etl.cli import cli
from etl.cli.export import export_command
from etl.export.lake import account_locks

app = type(cli)(name="zoom-etl", commands=[export_command])


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZOOM_ETL_WAREHOUSE", raising=False)
    monkeypatch.delenv("ZOOM_ETL_CONFIG", raising=False)
    return lambda *args: CliRunner().invoke(app, ["export", *args])


def test_export_parquet_prints_a_summary(invoke: Callable[..., Result], tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "wh.duckdb")
    out = tmp_path / "bi"
    result = invoke("parquet", "--out", str(out), "--warehouse", str(warehouse), "--format", "json")
    assert result.exit_code == 0, result.output
    summary = {r["table"]: r for r in map(orjson.loads, result.stdout.splitlines())}
    assert summary["meeting_participants"]["rows"] == len(ROWS["meeting_participants"])
    assert summary["meeting_participants"]["written"] == summary["meeting_participants"]["partitions"] == 4
    assert "meeting_participants: 5 rows, 4 partitions (4 written, 0 kept, 0 removed)" in result.stderr
    frame = pl.read_parquet(f"{out}/users/**/*.parquet", hive_partitioning=True)
    assert frame.height == len(ROWS["users"])


def test_export_delta_with_tables(invoke: Callable[..., Result], tmp_path: Path) -> None:
    deltalake = pytest.importorskip("deltalake")  # the optional `delta` extra
    warehouse = make_warehouse(tmp_path / "wh.duckdb")
    out = tmp_path / "lake"
    result = invoke(
        "delta", "--out", str(out), "--warehouse", str(warehouse), "--tables", "users,daily_usage"
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["_zoom_etl", "daily_usage", "users"]
    assert deltalake.DeltaTable(str(out / "daily_usage")).to_pyarrow_table().num_rows == len(
        ROWS["daily_usage"]
    )
    assert result.stdout.splitlines()[0].split() == [
        "table",
        "rows",
        "partitions",
        "written",
        "kept",
        "removed",
    ]


def test_export_exit_codes(invoke: Callable[..., Result], tmp_path: Path) -> None:
    missing = invoke("parquet", "--out", str(tmp_path / "x"), "--warehouse", str(tmp_path / "nope.duckdb"))
    assert missing.exit_code == 2 and "not found" in missing.output
    warehouse = make_warehouse(tmp_path / "wh.duckdb")
    unknown = invoke(
        "parquet", "--out", str(tmp_path / "x"), "--warehouse", str(warehouse), "--tables", "nope"
    )
    assert unknown.exit_code == 2 and "unknown table(s) nope" in unknown.output
    bad_format = invoke("csv", "--out", str(tmp_path / "x"), "--warehouse", str(warehouse))
    assert bad_format.exit_code == 2
    no_out = invoke("parquet", "--warehouse", str(warehouse))
    assert no_out.exit_code == 2 and "--out" in no_out.output


def test_export_of_an_account_another_export_is_writing_exits_75(
    invoke: Callable[..., Result], tmp_path: Path
) -> None:
    warehouse = make_warehouse(tmp_path / "wh.duckdb")
    out = tmp_path / "lake"
    assert invoke("parquet", "--out", str(out), "--warehouse", str(warehouse)).exit_code == 0
    with account_locks(out, ["acc1"]):  # what a running export of account acc1 holds
        held = invoke("parquet", "--out", str(out), "--warehouse", str(warehouse))
    assert held.exit_code == 75 and "writing account acc1" in held.output
    assert invoke("parquet", "--out", str(out), "--warehouse", str(warehouse)).exit_code == 0


def test_export_vacuum_hours_must_not_be_negative(invoke: Callable[..., Result], tmp_path: Path) -> None:
    warehouse = make_warehouse(tmp_path / "wh.duckdb")
    result = invoke(
        "delta", "--out", str(tmp_path / "x"), "--warehouse", str(warehouse), "--vacuum-hours", "-1"
    )
    assert result.exit_code == 2 and "--vacuum-hours -1" in result.output
    assert not (tmp_path / "x").exists()
