"""The warehouse's tables: core tables from the contracts (schema ``zoom``), bookkeeping (``_etl``) and
raw payloads (``raw``). Everything is ``IF NOT EXISTS``, so opening a warehouse migrates it forward:
columns a newer contract declares are added to existing tables.

``_etl.meta`` holds the warehouse's ``schema_version``: the layout of these tables, raised whenever a
release changes it in a way an older release would not handle. A writer refuses a warehouse stamped with
a newer version than its own (``check_version``, before any DDL: an older release would write rows in
an older shape into it); an older or unstamped warehouse is migrated by ``create_all`` and stamped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import duckdb

from etl.contracts import Contract, column_ddl, quote, table_ddl
from etl.errors import ConfigError

# The layout of the warehouse's tables this release writes (1: the first stamped one).
SCHEMA_VERSION = 1

BOOKKEEPING = (
    "CREATE SCHEMA IF NOT EXISTS zoom",
    "CREATE SCHEMA IF NOT EXISTS _etl",
    "CREATE SCHEMA IF NOT EXISTS raw",
    """CREATE TABLE IF NOT EXISTS _etl.meta (
  key VARCHAR PRIMARY KEY,            -- schema_version
  value VARCHAR NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS _etl.runs (
  run_id VARCHAR PRIMARY KEY,
  started_at TIMESTAMPTZ NOT NULL,
  ended_at TIMESTAMPTZ,
  status VARCHAR NOT NULL,            -- running | ok | partial | failed | interrupted (killed)
  streams JSON,                       -- streams the run was asked for
  rows_by_table JSON,                 -- rows upserted per table
  requests_by_category JSON,          -- HTTP requests per rate-limit category
  errors INTEGER NOT NULL DEFAULT 0,
  skips INTEGER NOT NULL DEFAULT 0,
  rejects INTEGER NOT NULL DEFAULT 0,
  schema_changes INTEGER NOT NULL DEFAULT 0,
  exit_code INTEGER,
  retries INTEGER,                    -- HTTP requests retried (5xx, resets, timeouts, 429s, expired tokens)
  throttled INTEGER,                  -- 429 responses received
  message VARCHAR,
  data_as_of TIMESTAMPTZ,             -- Zoom's clock when the run began reading: the data's "now"
  schema_changes_unrecorded INTEGER,  -- new fields past the cap per run and stream: counted, not recorded
  accounts JSON                       -- per account: status, exit code, error, rows, requests, seconds
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
    """CREATE TABLE IF NOT EXISTS _etl.gaps (
  stream VARCHAR NOT NULL,
  account_id VARCHAR NOT NULL,
  scope VARCHAR NOT NULL,             -- user id, instance uuid, or '' (account-wide window, whole listing)
  first_day DATE,                     -- the days of a windowed unit, inclusive (NULL: the whole scope)
  last_day DATE,
  reason VARCHAR NOT NULL,            -- why it is outstanding (GraphQL dropped items; REST after a fallback)
  run_id VARCHAR NOT NULL,            -- the run that recorded it (last)
  recorded_at TIMESTAMPTZ NOT NULL
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
  -- The page's records: one JSON array (UTF-8), compressed by codec. DuckDB is told not to compress
  -- them again: trying to (at every checkpoint) cost more than landing them.
  records BLOB NOT NULL USING COMPRESSION 'uncompressed',
  codec VARCHAR NOT NULL,             -- zstd, or json (uncompressed text, from before compression)
  json_bytes BIGINT,                  -- size of the JSON text, to decompress it in one step
  PRIMARY KEY (batch_seq, page_no)
)""",
)

# ``rebuild`` fills these, then swaps them in (see etl.rebuild).
SHADOW = "_rebuild_"
SHADOW_REJECTS = "_etl._rebuild_rejects"

# raw.pages before records were compressed held them as VARCHAR: converted in place on open.
_RAW_MIGRATION = {
    "records": "ALTER TABLE raw.pages ALTER COLUMN records TYPE BLOB USING encode(records)",
    "codec": "ALTER TABLE raw.pages ADD COLUMN codec VARCHAR NOT NULL DEFAULT 'json'",
    "json_bytes": "ALTER TABLE raw.pages ADD COLUMN json_bytes BIGINT",
}


def create_all(conn: duckdb.DuckDBPyConnection, contracts: Iterable[Contract]) -> None:
    """Create every schema and table (idempotent), then add columns newer contracts declare."""
    for statement in BOOKKEEPING:
        conn.execute(statement)
    for column, kind in (
        ("retries", "INTEGER"),
        ("throttled", "INTEGER"),
        ("data_as_of", "TIMESTAMPTZ"),
        ("schema_changes_unrecorded", "INTEGER"),
        ("accounts", "JSON"),
    ):
        conn.execute(f"ALTER TABLE _etl.runs ADD COLUMN IF NOT EXISTS {column} {kind}")  # older warehouses
    migrate_raw(conn)
    drop_shadows(conn)
    for contract in contracts:
        for statement in table_ddl(contract):
            conn.execute(statement)
        add_missing_columns(conn, contract)


def schema_version(conn: duckdb.DuckDBPyConnection) -> int | None:
    """The version the warehouse is stamped with; None for one written before versions were stamped."""
    exists = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
        " AND schema_name = '_etl' AND table_name = 'meta'"
    ).fetchone()
    if not exists or not exists[0]:
        return None
    row = conn.execute("SELECT value FROM _etl.meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else None


def check_version(conn: duckdb.DuckDBPyConnection, where: str) -> None:
    """Refuse (exit 2) a warehouse a newer release wrote: this one would write it in an older shape."""
    version = schema_version(conn)
    if version is not None and version > SCHEMA_VERSION:
        raise ConfigError(
            f"warehouse {where} has schema version {version}, written by a newer zoom-etl (this one writes"
            f" version {SCHEMA_VERSION}): upgrade zoom-etl, or point --warehouse at another file"
        )


def stamp_version(conn: duckdb.DuckDBPyConnection) -> None:
    """After ``create_all``: the warehouse now has this release's layout."""
    conn.execute(
        "INSERT OR REPLACE INTO _etl.meta (key, value) VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
    )


def drop_shadows(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Drop the shadow tables an interrupted ``rebuild`` left behind; returns the tables dropped."""
    rows = conn.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
        " AND ((schema_name = 'zoom' AND starts_with(table_name, ?))"
        " OR (schema_name = '_etl' AND table_name = ?))",
        [SHADOW, SHADOW_REJECTS.split(".", 1)[1]],
    ).fetchall()
    for schema, table in rows:
        conn.execute(f"DROP TABLE {schema}.{quote(table)}")
    return [f"{schema}.{table}" for schema, table in rows]


def migrate_raw(conn: duckdb.DuckDBPyConnection) -> list[str]:
    """Convert a ``raw.pages`` that stores records as text to the compressed layout (kept exact: the
    old rows become codec ``json``). Step by step, so an interrupted migration resumes. Returns the
    columns changed."""
    types = dict(
        conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_catalog = current_database() AND table_schema = 'raw' AND table_name = 'pages'"
        ).fetchall()
    )
    steps = [
        column
        for column in _RAW_MIGRATION
        if (types.get(column) != "BLOB" if column == "records" else column not in types)
    ]
    for column in steps:
        conn.execute(_RAW_MIGRATION[column])
    return steps


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
