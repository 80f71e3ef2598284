"""Set-based writes of normalized frames: upsert by primary key, SCD2 history, drift columns.

Each function runs inside the caller's transaction and stages the frame once (DuckDB reads the Polars
frame through Arrow without a copy). The tables carry no PRIMARY KEY constraint (see
``etl.contracts.table_ddl``: its index made loads 4x slower and grew with the table), so the key is
enforced here: keys are unique per frame because normalization deduplicated them, and an upsert is
``DELETE ... USING stage`` on the full key followed by ``INSERT ... BY NAME`` in the same transaction.
The delete is a hash join whose build side is the batch; DuckDB pushes the batch's min/max key values
into the table scan, so row groups outside the batch's time range are skipped rather than read.
"""

from __future__ import annotations

import duckdb
import polars as pl

from etl import crashpoints
from etl.contracts import Column, Contract, column_ddl, quote
from etl.warehouse.connection import scalar
from etl.warehouse.ddl import existing_columns


def upsert(conn: duckdb.DuckDBPyConnection, contract: Contract, frame: pl.DataFrame) -> int:
    """Insert or replace ``frame``'s rows in ``zoom.<table>``; with SCD2, also version the history.

    ``frame`` must hold each key at most once (``normalize`` guarantees it)."""
    if not len(frame):
        return 0
    table = f"zoom.{contract.table}"
    rows = frame.drop("_row_hash") if "_row_hash" in frame.columns else frame
    on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in contract.key)
    conn.register("_stage", rows)
    try:
        if _has_rows(conn, table):
            conn.execute(f"DELETE FROM {table} AS t USING _stage AS s WHERE {on}")
        conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _stage")
    finally:
        conn.unregister("_stage")
    crashpoints.reach("upsert.after_replace")
    if contract.history_table:
        version(conn, contract, frame)
    return len(frame)


def _has_rows(conn: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether ``table`` holds any row: a first load (and a rebuild) need no delete."""
    return bool(conn.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchall()[0][0])


def version(conn: duckdb.DuckDBPyConnection, contract: Contract, frame: pl.DataFrame) -> int:
    """SCD2: a row whose hash differs from the current version closes it (``valid_to``) and opens a
    new one from the snapshot time (the page's ``fetched_at``); an unchanged row adds nothing. A
    snapshot older than the current version cannot reopen history and is ignored here."""
    history = f"zoom.{contract.history_table}"
    on = " AND ".join(f"h.{quote(k)} = s.{quote(k)}" for k in contract.key)
    match = " AND ".join(f"{history}.{quote(k)} = c.{quote(k)}" for k in contract.key)
    conn.register("_stage", frame)
    try:
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE _changed AS SELECT s.* FROM _stage s "
            f"LEFT JOIN {history} h ON {on} AND h.is_current "
            f"WHERE h.account_id IS NULL OR (h._row_hash <> s._row_hash AND s._synced_at > h.valid_from)"
        )
    finally:
        conn.unregister("_stage")
    changed = int(scalar(conn, "SELECT count(*) FROM _changed"))
    if changed:
        conn.execute(
            f"UPDATE {history} SET valid_to = c._synced_at, is_current = false "
            f"FROM _changed c WHERE {match} AND {history}.is_current"
        )
        crashpoints.reach("history.after_close")
        conn.execute(
            f"INSERT INTO {history} BY NAME SELECT *, _synced_at AS valid_from, "
            f"NULL::TIMESTAMPTZ AS valid_to, true AS is_current FROM _changed"
        )
    conn.execute("DROP TABLE _changed")
    return changed


def add_columns(conn: duckdb.DuckDBPyConnection, contract: Contract, columns: list[Column]) -> None:
    """Schema drift (evolve): add the new columns to the table and its history table."""
    for table in filter(None, (contract.table, contract.history_table)):
        have = existing_columns(conn, table)
        for column in columns:
            if column.name not in have:
                conn.execute(f"ALTER TABLE zoom.{table} ADD COLUMN {column_ddl(column)}")
