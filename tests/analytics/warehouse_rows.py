"""Rows for analytics tests: insert into the core tables with plain SQL, in warehouses made by the DDL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from etl.analytics import apply
from etl.warehouse.connection import Warehouse

SYNCED = datetime(2024, 6, 1, tzinfo=UTC)
Tables = Mapping[str, Sequence[Mapping[str, Any]]]


def insert(conn: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    """Into ``zoom.<table>`` with the system columns filled in, or into a schema-qualified table as given
    (``_etl.runs``)."""
    qualified = table if "." in table else f"zoom.{table}"
    for given in rows:
        defaults = {} if "." in table else {"account_id": "acc1", "_run_id": "run-1", "_synced_at": SYNCED}
        row = {**defaults, **given}
        names = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        conn.execute(f"INSERT INTO {qualified} ({names}) VALUES ({marks})", list(row.values()))


def make_warehouse(path: Path, tables: Tables, *, layer: bool = True) -> Path:
    """A warehouse file with ``tables`` inserted and, like after a sync, the analytics layer applied."""
    with Warehouse.open(path) as warehouse, warehouse.transaction() as conn:
        for table, rows in tables.items():
            insert(conn, table, rows)
        if layer:
            apply(conn)
    return path


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 3) -> datetime:
    """A UTC instant in 2024 (March unless told)."""
    return datetime(2024, month, day, hour, minute, second, tzinfo=UTC)
