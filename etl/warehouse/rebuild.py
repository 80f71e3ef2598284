"""``rebuild``: the core tables (and their history) from ``raw.pages``, without any API call.

The replay runs the same ``normalize`` and loader as the sync, over the same pages in the same order
(batch, then position), with each page's own run id and ``fetched_at``: so the rebuilt tables equal
the synced ones, ``_run_id`` and ``_synced_at`` included. Fact tables are replayed in chunks of many
original batches (normalize orders duplicates by original batch first, so the last write still wins);
SCD2 streams are replayed batch by batch, because every batch was a snapshot that may have opened a
version. Everything happens in one transaction: a failed rebuild leaves the tables as they were.

This module sits above ``load`` and ``normalize`` (it orchestrates them, as the pipeline does), so
``etl.warehouse`` does not import it: call ``etl.warehouse.rebuild.rebuild``.
"""

from __future__ import annotations

from collections.abc import Iterable

from etl.errors import ConfigError
from etl.load import bookkeeping
from etl.load.batch import load_tables
from etl.normalize import normalize
from etl.warehouse.connection import Warehouse, scalar
from etl.warehouse.raw import RawPage, replay

REBUILD_RUN = "rebuild"


def rebuild(
    wh: Warehouse, tables: Iterable[str] | None = None, *, chunk_rows: int = 50_000
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
    pending: dict[str, list[RawPage]] = {}
    rows: dict[str, int] = {}

    def flush(stream: str) -> None:
        group = pending.pop(stream, [])
        if not group:
            return
        normalized = normalize(
            [r.page for r in group],
            wh.contracts,
            [r.run_id for r in group],
            batch_ordinals=[r.batch_seq for r in group],
        )
        seqs = [wh.next_change_seq() for _ in normalized.schema_changes]
        bookkeeping.schema_changes(conn, normalized.schema_changes, REBUILD_RUN, seqs)
        load_tables(conn, normalized, selected)
        bookkeeping.rejects(conn, normalized.rejects.filter(normalized.rejects["table_name"].is_in(names)))
        wh.contracts.update(normalized.contracts)

    with wh.transaction() as conn:
        for name in names:
            contract = wh.contracts[name]
            conn.execute(f"DELETE FROM zoom.{name}")
            if contract.history_table:
                conn.execute(f"DELETE FROM zoom.{contract.history_table}")
        placeholders = ", ".join("?" for _ in names)
        conn.execute(f"DELETE FROM _etl.rejects WHERE table_name IN ({placeholders})", names)
        counts: dict[str, int] = {}
        for raw_page in replay(conn, streams):
            stream = raw_page.page.stream
            group = pending.setdefault(stream, [])
            if group and stream in snapshot_streams and group[-1].batch_seq != raw_page.batch_seq:
                flush(stream)
                group = pending.setdefault(stream, [])
            group.append(raw_page)
            counts[stream] = counts.get(stream, 0) + len(raw_page.page.records)
            if stream not in snapshot_streams and counts[stream] >= chunk_rows:
                flush(stream)
                counts[stream] = 0
        for stream in list(pending):
            flush(stream)
        for name in names:
            rows[name] = int(scalar(conn, f"SELECT count(*) FROM zoom.{name}"))
    return rows
