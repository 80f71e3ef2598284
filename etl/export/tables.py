"""What an export exports: the tables (and, on request, the ``analytics`` views), their partitioning, and
a content hash per partition. Shared by the Parquet (``etl.export.parquet``) and Delta
(``etl.export.delta``) writers; ``etl.export`` is the entry point that calls them.

A partition is ``(account_id,)`` for dimensions, history tables and analytics views, and
``(account_id, day)`` for fact tables, whose ``date`` partition is the UTC day of the column
``partition_date_column`` names. ``partition_date_column`` is the one place that knows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa

from etl.contracts import load_contracts, quote
from etl.errors import WarehouseError

# A fact table's time column, from its contract (``time_column``); tables without one: by account only.
FACT_DATES = {c.table: c.time_column for c in load_contracts().values() if c.time_column}
ANALYTICS = "analytics"

Key = tuple[str | None, ...]  # partition values: (account_id,) or (account_id, ISO day or None)


def partition_date_column(table: str) -> str | None:
    """The column whose UTC day is a core table's ``date`` partition; None: partitioned by account only."""
    return FACT_DATES.get(table)


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One exported table: where it comes from, its columns and how it is partitioned."""

    name: str  # the table (schema zoom) or view (schema analytics)
    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type), warehouse order
    date_column: str | None  # fact tables: the column whose UTC day is the ``date`` partition
    schema: str = "zoom"

    @property
    def key(self) -> str:
        """Its name in results and manifests: ``users``, ``analytics.daily_meetings``."""
        return self.name if self.schema == "zoom" else f"{self.schema}.{self.name}"

    @property
    def folder(self) -> str:
        """Its folder under the export root: ``users``, ``analytics/daily_meetings``."""
        return self.name if self.schema == "zoom" else f"{self.schema}/{self.name}"

    @property
    def partition_by(self) -> tuple[str, ...]:
        return ("account_id", "date") if self.date_column else ("account_id",)

    def select(self) -> str:
        """The rows as exported: JSON as text, plus the ``date`` partition column for fact tables."""
        items = [f"{quote(n)}::VARCHAR AS {quote(n)}" if t == "JSON" else quote(n) for n, t in self.columns]
        if self.date_column and self.date_column != "date":
            items.append(f"({quote(self.date_column)} AT TIME ZONE 'UTC')::DATE AS date")
        return f"SELECT {', '.join(items)} FROM {self.schema}.{quote(self.name)}"


@dataclass(frozen=True, slots=True)
class TableResult:
    table: str
    rows: int
    partitions: int
    written: int  # partitions (re)written by this export
    kept: int  # partitions left as they were
    removed: int  # partitions that had no rows any more


OnTable = Callable[[TableResult], None]


def table_specs(conn: duckdb.DuckDBPyConnection, analytics: bool = False) -> dict[str, TableSpec]:
    """Every base table of schema ``zoom`` (history tables and drift-added columns included), but never
    a rebuild's staging tables (``_rebuild_<table>``: a killed rebuild leaves them until the warehouse is
    next opened for writing, and a warehouse without a read copy is what readers open). With
    ``analytics``, the views of schema ``analytics`` too (keyed ``analytics.<view>``)."""
    rows = conn.execute(
        "SELECT c.table_schema, c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
        " JOIN information_schema.tables t USING (table_schema, table_name)"
        " WHERE ((c.table_schema = 'zoom' AND t.table_type = 'BASE TABLE')"
        "  OR (c.table_schema = ? AND t.table_type = 'VIEW' AND ?))"
        " AND NOT starts_with(c.table_name, '_')"
        " ORDER BY c.table_schema DESC, c.table_name, c.ordinal_position",
        [ANALYTICS, analytics],
    ).fetchall()
    columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, type_ in rows:
        columns.setdefault((schema, table), []).append((column, type_))
    specs = {}
    for (schema, table), cols in columns.items():
        date_column = partition_date_column(table) if schema == "zoom" else None
        spec = TableSpec(table, tuple(cols), date_column, schema)
        if "account_id" not in {c for c, _ in cols}:
            raise WarehouseError(f"export of {spec.key}: no account_id column to partition by")
        specs[spec.key] = spec
    return specs


def warehouse_accounts(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """The accounts the warehouse holds rows of: the accounts an export of it owns in the lake."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.columns c"
            " JOIN information_schema.tables t USING (table_schema, table_name)"
            " WHERE c.table_schema = 'zoom' AND t.table_type = 'BASE TABLE' AND c.column_name = 'account_id'"
            " AND NOT starts_with(c.table_name, '_')"
        ).fetchall()
    ]
    if not tables:
        return []
    union = " UNION ".join(f"SELECT DISTINCT account_id FROM zoom.{quote(t)}" for t in sorted(tables))
    return sorted(r[0] for r in conn.execute(union).fetchall() if r[0] is not None)


def partition_hashes(conn: duckdb.DuckDBPyConnection, spec: TableSpec) -> dict[Key, tuple[str, int]]:
    """Content hash and row count of every partition, computed by DuckDB in one pass."""
    keys = "account_id, date" if spec.date_column else "account_id"
    rows = conn.execute(
        f"SELECT {keys}, count(*), sum(hash(t))::VARCHAR || ':' || bit_xor(hash(t))::VARCHAR"
        f" FROM ({spec.select()}) AS t GROUP BY ALL"
    ).fetchall()
    out: dict[Key, tuple[str, int]] = {}
    for row in rows:
        *values, count, digest = row
        key = tuple(v.isoformat() if isinstance(v, date) else v for v in values)
        out[key] = (f"{count}:{digest}", int(count))
    return out


@contextmanager
def only_partitions(
    conn: duckdb.DuckDBPyConnection, spec: TableSpec, keys: list[Key], every: int = -1
) -> Iterator[str]:
    """The export query, limited to the partitions in ``keys``; no join when they are all ``every``
    partition the table has."""
    if len(keys) == every:
        yield spec.select()
        return
    name = f"_export_keys_{id(keys):x}"
    columns: dict[str, Any] = {"account_id": pa.array([k[0] for k in keys], pa.string())}
    on = "s.account_id = k.account_id"
    if spec.date_column:
        days = [date.fromisoformat(k[1]) if k[1] else None for k in keys]
        columns["date"] = pa.array(days, pa.date32())
        on += " AND s.date IS NOT DISTINCT FROM k.date"
    conn.register(name, pa.table(columns))
    try:
        yield f"SELECT s.* FROM ({spec.select()}) AS s SEMI JOIN {name} AS k ON {on}"
    finally:
        conn.unregister(name)
