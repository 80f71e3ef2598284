"""The analytics layer itself: headers document the real columns, apply is idempotent, readers refresh
stale views and stay read-only, and a writer in another process is reported as LockedError."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from warehouse_rows import make_warehouse

from etl import analytics
from etl.errors import ConfigError, LockedError, WarehouseError
from etl.warehouse.connection import Warehouse
from etl.warehouse.lock import WarehouseLock

DUCKDB_TYPES = {"TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE"}


def test_every_report_documents_exactly_its_columns(tmp_path: Path) -> None:
    conn = analytics.open_reader(make_warehouse(tmp_path / "wh.duckdb", {}))
    try:
        for report in analytics.load_reports():
            described = conn.execute(f"DESCRIBE {report.view}").fetchall()
            actual = [(name, type_) for name, type_, *_ in described]
            documented = [(name, DUCKDB_TYPES.get(type_, type_)) for name, type_, _ in report.columns]
            assert actual == documented, report.name
            assert report.summary and len(report.summary) < 120, report.name
            assert "columns:" in report.header and report.path.name == f"{report.name}.sql"
        macro = conn.execute("DESCRIBE SELECT * FROM analytics.license_utilization_at(now())").fetchall()
        assert [r[0] for r in macro] == [c[0] for c in analytics.find_report("license_utilization").columns]
    finally:
        conn.close()


def test_apply_is_idempotent_and_ordered() -> None:
    with Warehouse.open(":memory:") as warehouse:
        first = analytics.apply(warehouse.conn)
        second = analytics.apply(warehouse.conn)
        version = analytics.applied_version(warehouse.conn)
    assert first == second == sorted(first)
    assert version == analytics.layer_version(analytics.load_reports())


def test_a_header_must_name_its_file(tmp_path: Path) -> None:
    (tmp_path / "wrong.sql").write_text(
        "-- name: other\n-- summary: x\n-- columns:\n--   a  INTEGER  a\nSELECT 1;\n"
    )
    with pytest.raises(WarehouseError, match=r"wrong\.sql: header must start with '-- name: wrong'"):
        analytics.load_reports(tmp_path)


def test_a_failing_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "broken.sql").write_text(
        "-- name: broken\n-- summary: x\n-- columns:\n--   a  INTEGER  a\n"
        "CREATE VIEW analytics.broken AS SELECT * FROM zoom.nope;\n"
    )
    with (
        Warehouse.open(":memory:") as warehouse,
        pytest.raises(WarehouseError, match=r"warehouse/broken\.sql"),
    ):
        analytics.apply(warehouse.conn, tmp_path)


def test_reader_creates_missing_views_then_stays_read_only(tmp_path: Path) -> None:
    path = make_warehouse(tmp_path / "wh.duckdb", {}, layer=False)
    conn = analytics.open_reader(path)
    try:
        assert analytics.applied_version(conn) == analytics.layer_version(analytics.load_reports())
        with pytest.raises(ConfigError, match="read-only"):
            analytics.run_sql(conn, "CREATE TABLE zoom.x (a INTEGER)", sandboxed=False)
    finally:
        conn.close()


def test_reader_refreshes_views_older_than_the_files(tmp_path: Path) -> None:
    path = make_warehouse(tmp_path / "wh.duckdb", {})
    with Warehouse.open(path) as warehouse:
        warehouse.conn.execute("CREATE OR REPLACE VIEW analytics.daily_meetings AS SELECT 1 AS stale")
        warehouse.conn.execute("CREATE OR REPLACE MACRO analytics.layer_version() AS 'old'")
    conn = analytics.open_reader(path)
    try:
        assert "meetings" in analytics.run_report(conn, "daily_meetings").column_names
    finally:
        conn.close()


def test_reader_goes_on_without_refresh_when_the_writer_lock_is_taken(tmp_path: Path) -> None:
    path = make_warehouse(tmp_path / "wh.duckdb", {}, layer=False)
    lock = WarehouseLock(path)  # another sync starting: it holds the lock, not yet the file
    lock.acquire()
    try:
        conn = analytics.open_reader(path)
        try:
            assert analytics.applied_version(conn) is None
            assert analytics.run_sql(conn, "SELECT count(*) AS n FROM zoom.users") is not None
        finally:
            conn.close()
    finally:
        lock.release()


def test_reader_while_a_writer_holds_the_file_is_locked_out(tmp_path: Path) -> None:
    path = make_warehouse(tmp_path / "wh.duckdb", {})
    holder = textwrap.dedent(
        f"""
        import sys
        from etl.warehouse.connection import Warehouse
        with Warehouse.open({str(path)!r}):
            print("ready", flush=True)
            sys.stdin.readline()
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        with pytest.raises(LockedError, match=rf"open for writing by another process \(pid {process.pid}\)"):
            analytics.open_reader(path)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        process.wait(timeout=30)
        if process.stdout:
            process.stdout.close()
    conn = analytics.open_reader(path)  # once the writer is gone, reading works
    conn.close()


def test_missing_warehouse_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        analytics.open_reader(tmp_path / "nope.duckdb")
