"""The warehouse's tables: core tables from the contracts (schema ``zoom``), bookkeeping (``_etl``) and
raw payloads (``raw``). Everything is ``IF NOT EXISTS``, so opening a warehouse migrates it forward:
columns a newer contract declares are added to existing tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import duckdb

from etl.contracts import Contract, column_ddl, quote, table_ddl

BOOKKEEPING = (
    "CREATE SCHEMA IF NOT EXISTS zoom",
    "CREATE SCHEMA IF NOT EXISTS _etl",
    "CREATE SCHEMA IF NOT EXISTS raw",
    """CREATE TABLE IF NOT EXISTS _etl.runs (
  run_id VARCHAR PRIMARY KEY,
  started_at TIMESTAMPTZ NOT NULL,
  ended_at TIMESTAMPTZ,
  status VARCHAR NOT NULL,            -- running | ok | partial | failed
  streams JSON,                       -- streams the run was asked for
  rows_by_table JSON,                 -- rows upserted per table
  requests_by_category JSON,          -- HTTP requests per rate-limit category
  errors INTEGER NOT NULL DEFAULT 0,
  skips INTEGER NOT NULL DEFAULT 0,
  rejects INTEGER NOT NULL DEFAULT 0,
  schema_changes INTEGER NOT NULL DEFAULT 0,
  exit_code INTEGER,
  message VARCHAR
)""",
    """CREATE TABLE IF NOT EXISTS _etl.state (
  stream VARCHAR NOT NULL,
  account_id VARCHAR NOT NULL,
  state JSON NOT NULL,                -- watermark, cursors: whatever the stream's checkpoint holds
  source VARCHAR,                     -- graphql | rest: the source in use
  updated_at TIMESTAMPTZ NOT NULL,
  run_id VARCHAR NOT NULL,
  PRIMARY KEY (stream, account_id)
)""",
    """CREATE TABLE IF NOT EXISTS _etl.done_keys (
  stream VARCHAR NOT NULL,
  account_id VARCHAR NOT NULL,
  key VARCHAR NOT NULL,               -- a resource completed, e.g. an instance uuid whose participants are in
  run_id VARCHAR NOT NULL,
  PRIMARY KEY (stream, account_id, key)
)""",
    """CREATE TABLE IF NOT EXISTS _etl.schema_changes (
  table_name VARCHAR NOT NULL,
  column_name VARCHAR NOT NULL,
  mode VARCHAR NOT NULL,              -- evolve: column added | freeze: rows rejected | discard: dropped
  column_type VARCHAR NOT NULL,
  stream VARCHAR,
  run_id VARCHAR NOT NULL,            -- first run that saw it
  seq BIGINT NOT NULL,                -- order of detection (columns are added in this order)
  PRIMARY KEY (table_name, column_name)
)""",
    """CREATE TABLE IF NOT EXISTS _etl.rejects (
  table_name VARCHAR NOT NULL,
  column_name VARCHAR,
  value VARCHAR,
  reason VARCHAR NOT NULL,
  payload JSON,                       -- the whole record as received
  run_id VARCHAR NOT NULL,
  account_id VARCHAR,
  stream VARCHAR
)""",
    """CREATE TABLE IF NOT EXISTS _etl.skips (
  run_id VARCHAR NOT NULL,
  stream VARCHAR NOT NULL,
  account_id VARCHAR NOT NULL,
  resource VARCHAR NOT NULL,
  reason VARCHAR NOT NULL,
  status INTEGER,
  code INTEGER
)""",
    """CREATE TABLE IF NOT EXISTS _etl.sources (
  run_id VARCHAR NOT NULL,
  stream VARCHAR NOT NULL,
  account_id VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  reason VARCHAR,
  PRIMARY KEY (run_id, stream, account_id)
)""",
    """CREATE TABLE IF NOT EXISTS raw.pages (
  batch_seq BIGINT NOT NULL,          -- the load transaction that landed it (replay order)
  page_no INTEGER NOT NULL,           -- position within that batch
  run_id VARCHAR NOT NULL,
  stream VARCHAR NOT NULL,
  account_id VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  request VARCHAR NOT NULL,           -- method, path and query; never headers or tokens
  fetched_at TIMESTAMPTZ NOT NULL,
  context JSON,
  record_count INTEGER NOT NULL,
  records VARCHAR NOT NULL,           -- the page's records as JSON text (records::JSON to query)
  PRIMARY KEY (batch_seq, page_no)
)""",
)


def create_all(conn: duckdb.DuckDBPyConnection, contracts: Iterable[Contract]) -> None:
    """Create every schema and table (idempotent), then add columns newer contracts declare."""
    for statement in BOOKKEEPING:
        conn.execute(statement)
    for contract in contracts:
        for statement in table_ddl(contract):
            conn.execute(statement)
        add_missing_columns(conn, contract)


def existing_columns(conn: duckdb.DuckDBPyConnection, table: str, schema: str = "zoom") -> set[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def add_missing_columns(conn: duckdb.DuckDBPyConnection, contract: Contract) -> list[str]:
    """``ALTER TABLE ... ADD COLUMN`` for contract columns the table (and its history) lacks."""
    added = []
    for table in filter(None, (contract.table, contract.history_table)):
        have = existing_columns(conn, table)
        for column in contract.columns:
            if column.name not in have:
                # Existing rows have no value for it, so an added column is always nullable.
                conn.execute(
                    f"ALTER TABLE zoom.{table} ADD COLUMN {column_ddl(replace(column, nullable=True))}"
                )
                added.append(f"{table}.{quote(column.name)}")
    return added
