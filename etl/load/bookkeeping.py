"""Bookkeeping rows written with each batch: checkpoints (state + done keys), skips, source choices,
rejects and schema changes. All run inside the batch's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import duckdb
import orjson
import polars as pl

from etl.normalize import SchemaChange
from etl.records import Checkpoint, Gap, Skip, SourceChoice

# New fields recorded per run and stream beyond the columns drift adds (discarded or frozen ones): a
# payload flooding thousands of new keys must not grow ``_etl.schema_changes`` by thousands of rows a run.
MAX_RECORDED_CHANGES = 100


def checkpoints(
    conn: duckdb.DuckDBPyConnection,
    items: Sequence[Checkpoint],
    run_id: str,
    sources: Mapping[tuple[str, str], str],
) -> None:
    """State per (stream, account) (the last checkpoint wins) and every done key."""
    now = datetime.now(UTC)
    latest: dict[tuple[str, str], Checkpoint] = {}
    done: list[tuple[str, str, str]] = []
    for cp in items:
        latest[(cp.stream, cp.account_id)] = cp
        done.extend((cp.stream, cp.account_id, key) for key in cp.done_keys)
    for (stream, account), cp in latest.items():
        conn.execute(
            "INSERT INTO _etl.state AS t (stream, account_id, state, source, updated_at, run_id)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (stream, account_id) DO UPDATE SET"
            " state = excluded.state, source = coalesce(excluded.source, t.source),"
            " updated_at = excluded.updated_at, run_id = excluded.run_id",
            [stream, account, orjson.dumps(cp.state).decode(), sources.get((stream, account)), now, run_id],
        )
    if done:
        frame = pl.DataFrame(
            {
                "stream": [d[0] for d in done],
                "account_id": [d[1] for d in done],
                "key": [d[2] for d in done],
                "run_id": [run_id] * len(done),
            }
        ).unique(["stream", "account_id", "key"], keep="last", maintain_order=True)
        conn.register("_done_stage", frame)
        try:
            conn.execute(
                "INSERT INTO _etl.done_keys BY NAME SELECT * FROM _done_stage ON CONFLICT DO NOTHING"
            )
        finally:
            conn.unregister("_done_stage")


def skips(conn: duckdb.DuckDBPyConnection, items: Sequence[Skip], run_id: str) -> None:
    if items:
        conn.executemany(
            "INSERT INTO _etl.skips VALUES (?, ?, ?, ?, ?, ?, ?)",
            [[run_id, s.stream, s.account_id, s.resource, s.reason, s.status, s.code] for s in items],
        )


def gaps(conn: duckdb.DuckDBPyConnection, items: Sequence[Gap], run_id: str) -> None:
    """Open and close outstanding gaps in the order they came: a close removes the scope's gaps whose
    days lie within its own (all of them when it has none); an open replaces the same gap."""
    now = datetime.now(UTC)
    for gap in items:
        where = "stream = ? AND account_id = ? AND scope = ?"
        params: list[object] = [gap.stream, gap.account_id, gap.scope]
        if gap.first_day is not None and gap.last_day is not None:
            op = ">=" if gap.closed else "="
            closing = "<=" if gap.closed else "="
            where += f" AND first_day {op} ? AND last_day {closing} ?"
            params += [gap.first_day, gap.last_day]
        elif not gap.closed:
            where += " AND first_day IS NULL"
        conn.execute(f"DELETE FROM _etl.gaps WHERE {where}", params)
        if not gap.closed:
            conn.execute(
                "INSERT INTO _etl.gaps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [gap.stream, gap.account_id, gap.scope, gap.first_day, gap.last_day, gap.reason, run_id, now],
            )


def source_choices(conn: duckdb.DuckDBPyConnection, items: Sequence[SourceChoice], run_id: str) -> None:
    for choice in items:
        conn.execute(
            "INSERT OR REPLACE INTO _etl.sources VALUES (?, ?, ?, ?, ?)",
            [run_id, choice.stream, choice.account_id, choice.source, choice.reason],
        )
        conn.execute(
            "UPDATE _etl.state SET source = ? WHERE stream = ? AND account_id = ?",
            [choice.source, choice.stream, choice.account_id],
        )


def rejects(conn: duckdb.DuckDBPyConnection, frame: pl.DataFrame, table: str = "_etl.rejects") -> int:
    if not len(frame):
        return 0
    conn.register("_reject_stage", frame)
    try:
        conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _reject_stage")
    finally:
        conn.unregister("_reject_stage")
    return len(frame)


def schema_changes(
    conn: duckdb.DuckDBPyConnection,
    changes: Sequence[SchemaChange],
    run_id: str,
    seqs: Sequence[int],
    recorded: dict[str, int] | None = None,
    unrecorded: set[tuple[str, str]] | None = None,
) -> int:
    """Record each new field once (the first run that saw it); returns how many were recorded.

    A column drift added is always recorded (the contracts are rebuilt from these rows; the normalizer
    caps how many a table gets). Other new fields (discarded, frozen) are recorded while ``recorded``
    (this run's count per stream, updated here) is under ``MAX_RECORDED_CHANGES``; the rest go to
    ``unrecorded`` (the run counts them). None: no cap (``rebuild`` replays what syncs recorded)."""
    if not changes:
        return 0
    tables = sorted({c.table for c in changes})
    known = set(
        conn.execute(
            "SELECT table_name, column_name FROM _etl.schema_changes"
            f" WHERE table_name IN ({', '.join('?' for _ in tables)})",
            tables,
        ).fetchall()
    )
    new = 0
    for change, seq in zip(changes, seqs, strict=True):
        field = (change.table, change.column)
        if field in known:
            continue
        if change.mode != "evolve" and recorded is not None:
            if recorded.get(change.stream, 0) >= MAX_RECORDED_CHANGES:
                if unrecorded is not None:
                    unrecorded.add(field)
                continue
            recorded[change.stream] = recorded.get(change.stream, 0) + 1
        conn.execute(
            "INSERT INTO _etl.schema_changes VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [change.table, change.column, change.mode, change.column_type, change.stream, run_id, seq],
        )
        known.add(field)
        new += 1
    return new
