"""``zoom-etl status``: what the warehouse knows about its own syncs, read without the API.

Everything comes from ``_etl`` (runs, state, sources, skips, outstanding gaps) and row counts of ``zoom``
in the warehouse's read copy (the last finished sync), plus the running sync's progress file when one
runs; the result is plain data so the CLI can print it as text or JSON. It never waits for a sync: the
read copy is never locked, and before the first sync has finished, status shows the running one alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from etl.errors import LockedError, ZoomEtlError
from etl.warehouse.publish import read_path
from etl.warehouse.reader import open_published
from etl.warehouse.running import read_progress


@dataclass(slots=True)
class StreamStatus:
    stream: str
    account_id: str
    source: str | None
    watermark: str | None
    updated_at: datetime | None
    age_hours: float | None


@dataclass(slots=True)
class Status:
    warehouse: str
    runs: list[dict[str, Any]]
    streams: list[StreamStatus]
    tables: dict[str, int]
    recent_skips: list[dict[str, Any]] = field(default_factory=list)
    read_path: str = ""  # what readers (DuckDB CLI, BI tools, dbt) should open
    running: dict[str, Any] | None = None  # the sync in progress: its progress file, else None
    # Per stream and account: units the next runs fetch again (``etl.extract.gaps``); empty when complete.
    gaps: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return orjson.loads(orjson.dumps(asdict(self), default=str))


def _rows(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, params or [])
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def table_counts(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per core table (schema ``zoom``), by table name."""
    names = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'zoom'"
        " AND table_type = 'BASE TABLE' AND NOT starts_with(table_name, '_') ORDER BY 1"  # not staging
    ).fetchall()
    return {
        name: int(conn.execute(f'SELECT count(*) FROM zoom."{name}"').fetchone()[0])  # type: ignore[index]
        for (name,) in names
    }


def _watermark(state: dict[str, Any]) -> str | None:
    for key in ("watermark", "through", "last_window_end", "max_time"):
        if state.get(key):
            return str(state[key])
    return None


def read_status(path: Path, *, runs: int = 10, now: datetime | None = None) -> Status:
    """Collect the status of the warehouse at ``path`` from its last published state, with the running
    sync's progress if one runs."""
    running = read_progress(path)
    try:
        conn = open_published(path)
    except LockedError:
        if running is None:
            raise
        return Status(str(path), [], [], {}, read_path=str(read_path(path)), running=running)
    now = now or datetime.now(UTC)
    with conn:
        # What each account did (a run of several accounts); a warehouse no sync has opened since the
        # column came has none.
        accounts = "accounts" if runs_have_accounts(conn) else "NULL AS accounts"
        last_runs = _rows(
            conn,
            "SELECT run_id, started_at, ended_at, status, exit_code, rows_by_table, requests_by_category,"
            f" skips, rejects, errors, message, {accounts} FROM _etl.runs ORDER BY started_at DESC LIMIT ?",
            [runs],
        )
        for run in last_runs:
            for key in ("rows_by_table", "requests_by_category"):
                run[key] = orjson.loads(run[key]) if run[key] else {}
            run["accounts"] = orjson.loads(run["accounts"]) if run["accounts"] else []
        streams = []
        for row in _rows(
            conn, "SELECT stream, account_id, state, source, updated_at FROM _etl.state ORDER BY 1, 2"
        ):
            updated = row["updated_at"]
            age = (now - updated).total_seconds() / 3600 if updated else None
            streams.append(
                StreamStatus(
                    row["stream"],
                    row["account_id"],
                    row["source"],
                    _watermark(orjson.loads(row["state"])),
                    updated,
                    round(age, 2) if age is not None else None,
                )
            )
        tables = table_counts(conn)
        skips = _rows(
            conn,
            "SELECT run_id, stream, account_id, resource, reason, status, code FROM _etl.skips"
            " WHERE run_id = (SELECT run_id FROM _etl.runs ORDER BY started_at DESC LIMIT 1) LIMIT 20",
        )
        has_gaps = conn.execute(  # a warehouse no sync has opened since gaps were introduced has none
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = '_etl' AND table_name = 'gaps'"
        ).fetchone()
        gaps = (has_gaps or (0,))[0] and _rows(
            conn,
            "SELECT stream, account_id, count(*) AS gaps, min(first_day) AS first_day,"
            " max(last_day) AS last_day, min(recorded_at) AS since, arg_min(reason, recorded_at) AS reason"
            " FROM _etl.gaps GROUP BY ALL ORDER BY stream, account_id",
        )
    return Status(str(path), last_runs, streams, tables, skips, str(read_path(path)), running, gaps or [])


def runs_have_accounts(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether ``_etl.runs`` has the per-account column (every warehouse a sync of this release opened)."""
    found = conn.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = '_etl'"
        " AND table_name = 'runs' AND column_name = 'accounts'"
    ).fetchone()
    return bool(found and found[0])


def previous_requests(path: Path, streams: Sequence[str]) -> int | None:
    """Requests sent by the last finished incremental run of exactly ``streams`` (what a progress ETA
    expects), or None when there is none (the first run of those streams fetched the whole history, and
    says nothing of the next) or the warehouse cannot be read."""
    try:
        conn = open_published(path)
    except ZoomEtlError:
        return None
    with conn:
        try:
            rows = conn.execute(
                "SELECT streams, requests_by_category FROM _etl.runs WHERE status IN ('ok', 'partial')"
                " ORDER BY started_at"
            ).fetchall()
        except duckdb.Error:  # not a warehouse this release wrote (yet): the sync itself says what it is
            return None
    matching = [r for listed, r in rows if listed and r and sorted(orjson.loads(listed)) == sorted(streams)]
    return (sum(orjson.loads(matching[-1]).values()) or None) if len(matching) > 1 else None
