"""``zoom-etl status --check``: what a scheduler or a monitoring system should hear about, one problem each.

Read from the warehouse's read copy (the last finished sync), never from the API:
    stale       a stream's last finished run (ok or partial) that synced it ended longer than ``max_age``
                ago, or no finished run synced it at all
    failed      the last run failed (or never finished: killed), or one of its accounts failed (one
                problem per account: a run of several accounts whose others went on is partial)
    rejects     the last run rejected more rows than the run before it
    skips       the last run skipped more resources than the run before it
    gaps        the last run left outstanding gaps (``_etl.gaps``): gaps it recorded, new ones or ones it
                fetched again and found still incomplete (gaps only an earlier run recorded do not count)
No problem: the check says "ok".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from etl.humanize import age, duration
from etl.status import runs_have_accounts
from etl.warehouse.reader import open_published


@dataclass(frozen=True, slots=True)
class Problem:
    reason: str  # stale | failed | rejects | skips | gaps
    message: str  # one line, for a person or a log
    stream: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check(path: Path, *, max_age_seconds: float, now: datetime | None = None) -> list[Problem]:
    """The problems of the warehouse at ``path`` (see the module docstring); empty when all is well."""
    now = now or datetime.now(UTC)
    with open_published(path) as conn:
        accounts = "accounts" if runs_have_accounts(conn) else "NULL"
        last_accounts = conn.execute(
            f"SELECT {accounts} FROM _etl.runs ORDER BY started_at DESC LIMIT 1"
        ).fetchall()
        runs = conn.execute(
            "SELECT run_id, status, ended_at, streams, rejects, skips, message FROM _etl.runs"
            " ORDER BY started_at DESC"
        ).fetchall()
        synced = [r[0] for r in conn.execute("SELECT DISTINCT stream FROM _etl.state ORDER BY 1").fetchall()]
        has_gaps = conn.execute(
            "SELECT count(*) FROM information_schema.tables"
            " WHERE table_schema = '_etl' AND table_name = 'gaps'"
        ).fetchone()
        gaps: list[tuple[str, int]] = []
        if runs and has_gaps and has_gaps[0]:
            gaps = conn.execute(
                "SELECT stream, count(*) FROM _etl.gaps WHERE run_id = ? GROUP BY stream ORDER BY stream",
                [runs[0][0]],
            ).fetchall()
    if not runs:
        return [Problem("stale", "no sync has finished yet")]
    problems: list[Problem] = []
    last_synced: dict[str, datetime] = {}
    for _, status, ended_at, streams, *_ in runs:
        if status in ("ok", "partial") and ended_at is not None:
            for stream in orjson.loads(streams or "[]"):
                last_synced.setdefault(stream, ended_at)
    limit = duration(max_age_seconds)
    for stream in synced:
        ended = last_synced.get(stream)
        if ended is None:
            problems.append(Problem("stale", f"stale: {stream} was never synced by a finished run", stream))
        elif (seconds := (now - ended).total_seconds()) > max_age_seconds:
            problems.append(
                Problem("stale", f"stale: {stream} last synced {age(seconds)} (max age {limit})", stream)
            )
    run_id, status, ended_at, _, rejects, skips, message = runs[0]
    if status not in ("ok", "partial"):
        why = f": {message}" if message else ""
        verb = "failed" if status == "failed" else f"never finished (status {status}: killed?)"
        problems.append(Problem("failed", f"failed: the last run {run_id} {verb}{why}"))
    elif last_accounts and last_accounts[0][0]:
        for account in orjson.loads(last_accounts[0][0]):
            if account.get("status") == "failed":
                who = f"account {account['account_id']} in the last run {run_id}"
                problems.append(Problem("failed", f"failed: {who}: {account['error']}"))
    before = runs[1] if len(runs) > 1 else None
    for reason, count, previous in (
        ("rejects", rejects or 0, (before[4] or 0) if before else 0),
        ("skips", skips or 0, (before[5] or 0) if before else 0),
    ):
        if count > previous:
            what = "rows rejected" if reason == "rejects" else "resources skipped"
            problems.append(
                Problem(
                    reason, f"{reason}: {count} {what} in the last run {run_id} (the run before: {previous})"
                )
            )
    for stream, count in gaps:
        problems.append(
            Problem(
                "gaps", f"gaps: {stream} has {count} outstanding gaps left by the last run {run_id}", stream
            )
        )
    return problems
