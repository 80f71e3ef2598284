"""The warehouse's schema version (``_etl.meta``): stamped on open, a newer one refused before any write."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from etl.errors import EXIT_USAGE, ConfigError
from etl.warehouse import Warehouse
from etl.warehouse.ddl import SCHEMA_VERSION


def _meta(path: Path) -> tuple[list[tuple[str, str]], int]:
    with duckdb.connect(str(path), read_only=True) as conn:
        meta = conn.execute("SELECT key, value FROM _etl.meta ORDER BY key").fetchall()
        runs = conn.execute("SELECT count(*) FROM _etl.runs").fetchone()
    return meta, runs[0] if runs else 0


def test_a_new_warehouse_is_stamped_with_this_release_s_version(warehouse_path: Path) -> None:
    with Warehouse.open(warehouse_path):
        pass
    assert _meta(warehouse_path) == ([("schema_version", str(SCHEMA_VERSION))], 0)


def test_an_unstamped_warehouse_is_migrated_and_stamped(warehouse_path: Path) -> None:
    with Warehouse.open(warehouse_path) as wh:
        wh.start_run()
        wh.conn.execute("DROP TABLE _etl.meta")  # as a release before versions left it
    with Warehouse.open(warehouse_path):
        pass
    assert _meta(warehouse_path) == ([("schema_version", str(SCHEMA_VERSION))], 1)


def test_a_warehouse_of_a_newer_release_is_refused_before_anything_is_written(warehouse_path: Path) -> None:
    with Warehouse.open(warehouse_path) as wh:
        wh.conn.execute("UPDATE _etl.meta SET value = ? WHERE key = 'schema_version'", [SCHEMA_VERSION + 1])
        wh.conn.execute("DROP TABLE _etl.gaps")  # a newer release's layout: nothing re-creates it
    with pytest.raises(ConfigError) as info:
        Warehouse.open(warehouse_path)
    message = str(info.value)
    assert info.value.exit_code == EXIT_USAGE == 2 and "\n" not in message
    assert f"schema version {SCHEMA_VERSION + 1}, written by a newer zoom-etl" in message
    assert _meta(warehouse_path) == ([("schema_version", str(SCHEMA_VERSION + 1))], 0)
    with duckdb.connect(str(warehouse_path), read_only=True) as conn:
        assert conn.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = '_etl' AND table_name = 'gaps'"
        ).fetchone() == (0,)
    with pytest.raises(ConfigError):  # the refusal released the lock and the file: it says so again
        Warehouse.open(warehouse_path)
