"""BI export of the core tables (schema ``zoom``), and on request the ``analytics`` views, as
Hive-partitioned Parquet or Delta Lake tables that many accounts share.

Layout: ``OUT/<table>/account_id=<id>/date=<YYYY-MM-DD>/...`` for fact tables, where ``date`` is the UTC day
of the table's natural time column (``etl.export.tables.partition_date_column``; daily_usage's own
``date`` column), and ``OUT/<table>/account_id=<id>/...`` for dimensions, SCD2 history tables and the
analytics views (``OUT/analytics/<view>/...``). Partition columns are in the directory names, not in the
files (the Hive convention Spark, Trino, DuckDB and Polars read back); a NULL day is
``date=__HIVE_DEFAULT_PARTITION__``. JSON columns are written as text. Never ``raw`` (payloads as
received) nor ``_etl`` (rejects carry payloads too).

Many accounts, one root. An export owns the accounts its warehouse holds rows of: it writes, replaces and
removes only their partitions, under their locks (``etl.export.lake``), so exports of other accounts
(other warehouses, other processes, at the same time) share the root and nothing of theirs is lost.
An account that is no longer in the warehouse at all is left in the lake as it was.

Incremental: each account's manifest keeps, per table, the column list and a content hash per partition
(row count, sum and xor of DuckDB's ``hash`` of every row, computed in one GROUP BY). A later export
rewrites only partitions whose hash changed, drops partitions that no longer have rows, and keeps the
rest untouched. A new column (schema drift) or another DuckDB version (hashes may differ) rewrites the
whole table. Atomicity: per account and table folder for Parquet (``etl.export.parquet``), one commit
per table for Delta (``etl.export.delta``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from etl.errors import ConfigError
from etl.export.delta import DEFAULT_VACUUM_HOURS, export_delta, require_deltalake
from etl.export.lake import MANIFEST, account_locks, open_root
from etl.export.parquet import export_parquet
from etl.export.tables import (
    FACT_DATES,
    OnTable,
    TableResult,
    TableSpec,
    table_specs,
    warehouse_accounts,
)

FORMATS = ("parquet", "delta")

__all__ = [
    "DEFAULT_VACUUM_HOURS",
    "FACT_DATES",
    "FORMATS",
    "MANIFEST",
    "ExportResult",
    "TableResult",
    "TableSpec",
    "export",
]


@dataclass(frozen=True, slots=True)
class ExportResult:
    format: str
    out: Path
    accounts: tuple[str, ...]
    tables: tuple[TableResult, ...]

    def to_arrow(self) -> pa.Table:
        names = ("table", "rows", "partitions", "written", "kept", "removed")
        return pa.table({n: [getattr(t, n) for t in self.tables] for n in names})


def export(
    conn: duckdb.DuckDBPyConnection,
    fmt: str,
    out: Path,
    tables: Sequence[str] | None = None,
    on_table: OnTable | None = None,
    analytics: bool = False,
    vacuum_hours: int = DEFAULT_VACUUM_HOURS,
) -> ExportResult:
    """Export ``tables`` (default: all; with ``analytics``, the analytics views too) of the warehouse
    behind ``conn`` to ``out`` as ``fmt``, replacing only the warehouse's own accounts' partitions."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if vacuum_hours < 0:
        raise ConfigError(f"--vacuum-hours {vacuum_hours}: must be 0 or more")
    specs = table_specs(conn, analytics=analytics or any("." in t for t in tables or ()))
    unknown = sorted(set(tables or ()) - set(specs))
    if unknown:
        raise ConfigError(
            f"--tables: unknown table(s) {', '.join(unknown)}; known: {', '.join(sorted(specs))}"
        )
    if tables:
        chosen = [specs[t] for t in sorted(set(tables))]
    else:
        chosen = [s for s in specs.values() if analytics or s.schema == "zoom"]
    if fmt == "delta":
        require_deltalake()  # before anything is created
    out = out.absolute()
    if out.is_symlink():  # export into the folder it points to
        out = out.resolve()
    marker = open_root(out, fmt)
    accounts = warehouse_accounts(conn)
    with account_locks(out, accounts):
        if fmt == "parquet":
            results = export_parquet(conn, chosen, out, accounts, marker, on_table)
        else:
            results = export_delta(conn, chosen, out, accounts, marker, on_table, vacuum_hours)
    return ExportResult(fmt, out, tuple(accounts), tuple(results))
