"""``rebuild``: the core tables (and their history) from ``raw.pages``, without any API call.

The replay runs the same ``normalize`` and loader as the sync, over the same pages in the same order
(batch, then position), with each page's own run id and ``fetched_at``: so the rebuilt tables equal
the synced ones, ``_run_id`` and ``_synced_at`` included. Fact tables are replayed in chunks of many
original batches (normalize orders duplicates by original batch first, and a later chunk replaces the
keys an earlier one wrote, so the last write still wins); SCD2 streams are replayed batch by batch,
because every batch was a snapshot that may have opened a version.

The rows go to shadow tables (``zoom._rebuild_<table>``, same columns in the same order), one
transaction per chunk, while the next chunk is decoded and normalized (DuckDB releases the GIL while
it writes). One last transaction swaps them in (drop the table, rename the shadow) with the rejects,
so a failed or killed rebuild leaves the tables as they were, and the leftover shadows are dropped by
the next rebuild (and by ``Warehouse.open``). Why not one transaction for everything: DuckDB keeps a
transaction's new rows in memory until it commits, so memory grew with the table (about 400 bytes a
participant row); chunks keep it flat.

This module sits above ``load`` and ``normalize`` (it orchestrates them, as the pipeline does), so it
lives beside ``etl.pipeline`` and not in ``etl.warehouse``, which ``load`` imports (the layers in
pyproject.toml's ``[tool.importlinter]`` check it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import duckdb

from etl.contracts import quote, sql_text
from etl.errors import ConfigError
from etl.load import bookkeeping
from etl.load.batch import load_tables
from etl.normalize import Normalized, normalize
from etl.warehouse.connection import Warehouse, scalar
from etl.warehouse.ddl import SHADOW, SHADOW_REJECTS, drop_shadows
from etl.warehouse.raw import RawPage, replay

REBUILD_RUN = "rebuild"
# Rows per chunk (decoded at once, one transaction): two DuckDB row groups (16,384 rows each). A chunk
# under one row group goes through the WAL (at 10,000 rows a rebuild costs 12 us of CPU a row instead
# of 9). Pages wait for their chunk still compressed (``RawPage``), so only the chunk being normalized
# is decoded: rebuilding `large` peaks at 357 MB (16,384 rows: 346 MB but 18% more CPU; before pages
# waited compressed, the streams' pending chunks held 61,000 decoded rows and peaked at 454 MB).
CHUNK_ROWS = 32_768


def rebuild(
    wh: Warehouse, tables: Iterable[str] | None = None, *, chunk_rows: int = CHUNK_ROWS
) -> dict[str, int]:
    """Rebuild ``tables`` (default: all) from raw pages; returns the row count of each rebuilt table."""
    names = list(tables) if tables is not None else list(wh.contracts)
    unknown = [t for t in names if t not in wh.contracts]
    if unknown:
        raise ConfigError(
            f"--tables: unknown table(s) {', '.join(unknown)}; known: {', '.join(wh.contracts)}"
        )
    selected = set(names)
    streams = sorted({wh.contracts[t].stream for t in names})
    snapshot_streams = {wh.contracts[t].stream for t in names if wh.contracts[t].history == "scd2"}
    physical = [t for name in names for t in filter(None, (name, wh.contracts[name].history_table))]
    into = {name: SHADOW + name for name in names}
    conn = wh.conn
    with wh.transaction():
        drop_shadows(conn)
        for table in physical:
            _create_shadow(conn, table)
        conn.execute(f"CREATE TABLE {SHADOW_REJECTS} AS SELECT * FROM _etl.rejects LIMIT 0")

    def load(normalized: Normalized) -> None:
        with wh.transaction():
            seqs = [wh.next_change_seq() for _ in normalized.schema_changes]
            bookkeeping.schema_changes(conn, normalized.schema_changes, REBUILD_RUN, seqs)
            load_tables(conn, normalized, selected, into=into)
            rejects = normalized.rejects.filter(normalized.rejects["table_name"].is_in(names))
            bookkeeping.rejects(conn, rejects, SHADOW_REJECTS)

    # One chunk loads on the worker while the next is read, decoded and normalized here.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoom-etl-rebuild") as pool:
        loading: Future[None] | None = None
        for group in _chunks(replay(conn, streams), snapshot_streams, chunk_rows):
            normalized = normalize(
                [r.page() for r in group],
                wh.contracts,
                [r.run_id for r in group],
                batch_ordinals=[r.batch_seq for r in group],
            )
            if loading is not None:
                loading.result()
            wh.contracts.update(normalized.contracts)
            loading = pool.submit(load, normalized)
        if loading is not None:
            loading.result()

    with wh.transaction():
        for table in physical:
            conn.execute(f"DROP TABLE zoom.{table}")
            conn.execute(f"ALTER TABLE zoom.{SHADOW}{table} RENAME TO {table}")
        placeholders = ", ".join("?" for _ in names)
        conn.execute(f"DELETE FROM _etl.rejects WHERE table_name IN ({placeholders})", names)
        conn.execute(f"INSERT INTO _etl.rejects SELECT * FROM {SHADOW_REJECTS}")
        conn.execute(f"DROP TABLE {SHADOW_REJECTS}")
    return {name: int(scalar(conn, f"SELECT count(*) FROM zoom.{name}")) for name in names}


def _create_shadow(conn: duckdb.DuckDBPyConnection, table: str) -> None:
    """An empty copy of ``zoom.<table>``: same columns in the same order, NOT NULLs and comment."""
    columns = conn.execute(
        "SELECT column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_catalog = current_database() AND table_schema = 'zoom' AND table_name = ?"
        " ORDER BY ordinal_position",
        [table],
    ).fetchall()
    body = ", ".join(f"{quote(n)} {t}{' NOT NULL' if null == 'NO' else ''}" for n, t, null in columns)
    conn.execute(f"CREATE TABLE zoom.{SHADOW}{table} ({body})")
    comment = scalar(
        conn,
        "SELECT comment FROM duckdb_tables() WHERE database_name = current_database()"
        " AND schema_name = 'zoom' AND table_name = ?",
        [table],
    )
    if comment:
        conn.execute(f"COMMENT ON TABLE zoom.{SHADOW}{table} IS {sql_text(comment)}")


def _chunks(pages: Iterator[RawPage], snapshot_streams: set[str], chunk_rows: int) -> Iterator[list[RawPage]]:
    """Pages grouped per stream, in landing order: a snapshot stream's group is one original batch, a
    fact stream's group holds ``chunk_rows`` rows or more."""
    pending: dict[str, list[RawPage]] = {}
    counts: dict[str, int] = {}
    for raw_page in pages:
        stream = raw_page.stream
        group = pending.setdefault(stream, [])
        if group and stream in snapshot_streams and group[-1].batch_seq != raw_page.batch_seq:
            yield pending.pop(stream)
            group = pending.setdefault(stream, [])
        group.append(raw_page)
        counts[stream] = counts.get(stream, 0) + raw_page.record_count
        if stream not in snapshot_streams and counts[stream] >= chunk_rows:
            yield pending.pop(stream)
            counts[stream] = 0
    yield from (group for group in pending.values() if group)
