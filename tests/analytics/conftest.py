"""Fixtures for the analytics layer: warehouses created through the warehouse DDL, filled with plain SQL.

- ``build(tables) -> Path``: a new warehouse file in tmp_path with ``tables`` ({table: [row dicts]}) inserted
  (``account_id`` defaults to ``acc1``; ``_run_id`` and ``_synced_at`` are filled in).
- ``rows(tables, sql) -> list[dict]``: build, open read-only through ``open_reader`` (which applies the
  analytics layer), run ``sql``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from warehouse_rows import Tables, make_warehouse

from etl.analytics import open_reader


@pytest.fixture
def build(tmp_path: Path) -> Callable[[Tables], Path]:
    counter = itertools.count()

    def make(tables: Tables) -> Path:
        return make_warehouse(tmp_path / f"w{next(counter)}.duckdb", tables)

    return make


@pytest.fixture
def rows(build: Callable[[Tables], Path]) -> Iterator[Callable[[Tables, str], list[dict[str, Any]]]]:
    opened: list[duckdb.DuckDBPyConnection] = []

    def run(tables: Tables, sql: str) -> list[dict[str, Any]]:
        conn = open_reader(build(tables))
        opened.append(conn)
        result: list[dict[str, Any]] = conn.sql(sql).to_arrow_table().to_pylist()
        return result

    yield run
    for conn in opened:
        conn.close()
