"""One batch, one transaction: raw pages, schema changes, rows of every table (with history), rejects,
skips, source choices, checkpoints and the run's counters commit together or not at all. A crash at
any point leaves the warehouse as it was after the previous batch, state included, so the next run
resumes from a checkpoint that matches the rows.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

import duckdb

from etl import crashpoints
from etl.load import bookkeeping
from etl.load.upsert import add_columns, upsert
from etl.normalize import Normalized
from etl.records import Checkpoint, Gap, Page, Skip, SourceChoice
from etl.warehouse.connection import RunCounters, Warehouse
from etl.warehouse.ddl import existing_columns
from etl.warehouse.raw import EncodedPages, land

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LoadResult:
    """What one ``commit`` wrote."""

    batch_seq: int
    rows: dict[str, int] = field(default_factory=dict)
    rejects: int = 0
    schema_changes: int = 0  # new fields recorded for the first time
    raw_pages: int = 0


def commit(
    wh: Warehouse,
    run_id: str,
    normalized: Normalized | None = None,
    *,
    pages: Sequence[Page] | EncodedPages = (),
    checkpoints: Sequence[Checkpoint] = (),
    skips: Sequence[Skip] = (),
    sources: Sequence[SourceChoice] = (),
    gaps: Sequence[Gap] = (),
) -> LoadResult:
    """Write one batch in one transaction. ``pages`` are the pages ``normalized`` was made from (they
    land in ``raw`` unless the warehouse was opened with ``raw=False``); checkpoints cover them."""
    result = write(
        wh,
        run_id,
        normalized,
        pages=pages,
        checkpoints=checkpoints,
        skips=skips,
        sources=sources,
        gaps=gaps,
    )
    adopt(wh, normalized)
    return result


def adopt(wh: Warehouse, normalized: Normalized | None) -> None:
    """After a commit: later batches normalize with the contracts it used (columns drift added)."""
    if normalized is not None:
        wh.contracts.update(normalized.contracts)


def write(
    wh: Warehouse,
    run_id: str,
    normalized: Normalized | None = None,
    *,
    pages: Sequence[Page] | EncodedPages = (),
    checkpoints: Sequence[Checkpoint] = (),
    skips: Sequence[Skip] = (),
    sources: Sequence[SourceChoice] = (),
    gaps: Sequence[Gap] = (),
) -> LoadResult:
    """``commit`` without ``adopt``: touches only the connection and the run's counters, so it may run
    on a loader thread while the caller normalizes the next batch (see ``etl.load.background``). Holds
    ``wh.busy`` throughout: the loads of accounts synced at once into one warehouse take turns."""
    with wh.busy:
        return _write(
            wh,
            run_id,
            normalized,
            pages=pages,
            checkpoints=checkpoints,
            skips=skips,
            sources=sources,
            gaps=gaps,
        )


def _write(
    wh: Warehouse,
    run_id: str,
    normalized: Normalized | None,
    *,
    pages: Sequence[Page] | EncodedPages,
    checkpoints: Sequence[Checkpoint],
    skips: Sequence[Skip],
    sources: Sequence[SourceChoice],
    gaps: Sequence[Gap],
) -> LoadResult:
    result = LoadResult(wh.next_batch_seq())
    before = wh.counters.setdefault(run_id, RunCounters())
    counters = replace(
        before,
        rows=dict(before.rows),
        recorded_changes=dict(before.recorded_changes),
        unrecorded_changes=set(before.unrecorded_changes),
    )
    with wh.transaction() as conn:
        crashpoints.reach("load.begin")
        if wh.raw and len(pages):
            result.raw_pages = land(conn, pages, run_id, result.batch_seq)
        crashpoints.reach("load.after_raw")
        if normalized is not None:
            seqs = [wh.next_change_seq() for _ in normalized.schema_changes]
            result.schema_changes = bookkeeping.schema_changes(
                conn,
                normalized.schema_changes,
                run_id,
                seqs,
                counters.recorded_changes,
                counters.unrecorded_changes,
            )
            result.rows = load_tables(conn, normalized)
            result.rejects = bookkeeping.rejects(conn, normalized.rejects)
        crashpoints.reach("load.after_tables")
        bookkeeping.skips(conn, skips, run_id)
        bookkeeping.gaps(conn, gaps, run_id)
        chosen = {(s.stream, s.account_id): s.source for s in sources}
        bookkeeping.checkpoints(conn, checkpoints, run_id, chosen)
        bookkeeping.source_choices(conn, sources, run_id)
        for table, count in result.rows.items():
            counters.rows[table] = counters.rows.get(table, 0) + count
        counters.rejects += result.rejects
        counters.skips += len(skips)
        counters.schema_changes += result.schema_changes
        wh.write_counters(run_id, counters)
        crashpoints.reach("load.after_state")
    crashpoints.reach("load.after_commit")
    wh.counters[run_id] = counters
    if counters.unrecorded_changes and not before.unrecorded_changes:
        log.warning(
            "more than %d new fields in one stream this run: the rest are not recorded in"
            " _etl.schema_changes, only counted (_etl.runs.schema_changes_unrecorded)",
            bookkeeping.MAX_RECORDED_CHANGES,
        )
    return result


def load_tables(
    conn: duckdb.DuckDBPyConnection,
    normalized: Normalized,
    tables: Collection[str] | None = None,
    *,
    into: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """Add drift columns, then upsert every frame (``tables`` limits which); rows written per table.
    ``into`` writes a table's rows to another table of the same shape (``rebuild``'s shadow tables)."""
    rows: dict[str, int] = {}
    for table, frame in normalized.frames.items():
        if tables is not None and table not in tables:
            continue
        contract = normalized.contracts[table]
        if into is not None and table in into:
            contract = replace(contract, table=into[table])
        evolved = [c for c in contract.columns if c.evolved]
        if evolved and not {c.name for c in evolved} <= existing_columns(conn, contract.table):
            add_columns(conn, contract, evolved)
        rows[table] = upsert(conn, contract, frame)
    return rows
