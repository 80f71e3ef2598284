"""Many accounts in one sync: what each account did, the warehouses they share, and the run's outcome.

Accounts run at once (``Settings.max_concurrent_accounts``), each with its own client, so each stays
within its own rate limits (Zoom's limits are per account). Every account goes into a warehouse: its own
(``warehouse`` in its ``[[accounts]]`` table) or the shared one. A ``Target`` is one warehouse file and
the accounts of this run that go into it: the first of them to start opens it (lock, ``_etl.runs`` row),
the last to end closes the run there (analytics views, the row's status, the read copy). Accounts of one
warehouse extract and normalize side by side and take turns on its connection (``Warehouse.busy``);
accounts of different warehouses load in parallel.

Outcomes, per account and then per run (``outcome``), the README's exit-code table applied to accounts:
    an account      failed (any error: the exit code of its error), partial (rejects, skips or gaps of
                    its own), or ok
    a run           ok when every account is ok; partial (exit 3) when none failed but some are partial,
                    or when some failed and at least one did not (the others' data is committed: the
                    failed ones are retried by the next run); failed when every account failed, with
                    their common exit code (2 when every one is a configuration error, 75 when every
                    warehouse was locked), else 1
The same rule gives the status of each warehouse's ``_etl.runs`` row over the accounts it holds, whose
own outcomes are kept in the row's ``accounts`` column.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from etl import analytics, crashpoints
from etl.carryover import gap_counts
from etl.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, ZoomEtlError
from etl.warehouse.connection import Warehouse
from etl.warehouse.running import RunProgress

log = logging.getLogger("etl.pipeline")


@dataclass(slots=True)
class AccountResult:
    """What one account did in a run; ``as_dict`` is its entry in the run's summary and ``_etl.runs``."""

    account_id: str
    warehouse: str
    status: str = "running"  # ok | partial | failed
    exit_code: int = EXIT_OK
    error: str = ""
    error_type: type[ZoomEtlError] | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended_at: datetime | None = None
    rows: dict[str, int] = field(default_factory=dict)
    rejects: int = 0
    skips: int = 0
    schema_changes: int = 0
    requests_by_category: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    retries: int = 0
    throttled: int = 0
    gaps: dict[str, int] = field(default_factory=dict)
    data_as_of: datetime | None = None
    read_copy: dict[str, Any] | None = None

    def fail(self, exc: BaseException) -> None:
        """Record the error that ended the account (its exit code, 1 for an unexpected one)."""
        if isinstance(exc, ZoomEtlError):
            self.exit_code, self.error, self.error_type = exc.exit_code, str(exc), type(exc)
        else:
            self.exit_code, self.error = EXIT_FAILED, f"{type(exc).__name__}: {exc}"
        self.status = "failed"

    def settle(self) -> None:
        """The account ended without an error: partial if anything of it is outstanding, else ok."""
        if self.status == "failed":
            return
        partial = self.rejects or self.skips or self.gaps
        self.status, self.exit_code = ("partial", EXIT_PARTIAL) if partial else ("ok", EXIT_OK)

    def as_dict(self) -> dict[str, Any]:
        ended = self.ended_at or self.started_at
        return {
            "account_id": self.account_id,
            "warehouse": self.warehouse,
            "status": self.status,
            "exit_code": self.exit_code,
            "error": self.error,
            "started_at": self.started_at.isoformat(),
            "ended_at": ended.isoformat(),
            "seconds": round((ended - self.started_at).total_seconds(), 3),
            "rows": self.rows,
            "rejects": self.rejects,
            "skips": self.skips,
            "requests": sum(self.requests_by_category.values()),
            "retries": self.retries,
            "throttled": self.throttled,
            "gaps": self.gaps,
            "read_copy": self.read_copy,
        }


def outcome(results: Sequence[AccountResult]) -> tuple[str, int, str]:
    """The run's status, exit code and error over its accounts (see the module docstring)."""
    failed = [r for r in results if r.status == "failed"]
    if not failed:
        partial = any(r.status == "partial" for r in results)
        return ("partial", EXIT_PARTIAL, "") if partial else ("ok", EXIT_OK, "")
    if len(results) == 1:
        return "failed", failed[0].exit_code, failed[0].error
    listed = "; ".join(f"{r.account_id}: {r.error}" for r in failed)
    error = f"{len(failed)} of {len(results)} accounts failed: {listed}"
    if len(failed) < len(results):
        return "partial", EXIT_PARTIAL, error
    codes = {r.exit_code for r in failed}
    return "failed", codes.pop() if len(codes) == 1 else EXIT_FAILED, error


class Target:
    """One warehouse file and the accounts of this run that go into it; see the module docstring."""

    def __init__(
        self,
        path: Path,
        account_ids: Sequence[str],
        *,
        run_id: str,
        streams: tuple[str, ...],
        started_at: datetime,
        raw: bool,
        wait: float,
        choose: Callable[[Warehouse, tuple[str, ...]], tuple[str, ...]] | None = None,
    ) -> None:
        self.path, self.account_ids, self.run_id = path, tuple(account_ids), run_id
        self.streams, self.started_at, self.raw, self.wait = streams, started_at, raw, wait
        # ``choose``: the run's streams in this warehouse, read from it once it is open (``sync --events``
        # fetches what its spooled events name, unless a full reconciliation is due there)
        self.choose = choose
        self.wh: Warehouse | None = None
        self.progress: RunProgress | None = None
        self.results: list[AccountResult] = []
        self.open_error: ZoomEtlError | None = None
        self._lock = threading.Lock()
        self._left = len(self.account_ids)

    def enter(self) -> Warehouse:
        """The open warehouse: opened (locked, the run's row started) by the first account to come. An
        error opening it (the lock, a newer warehouse) is every one of its accounts' error."""
        with self._lock:
            if self.open_error is not None:
                raise self.open_error
            if self.wh is None:
                try:
                    wh = Warehouse.open(self.path, raw=self.raw, publish=True, wait=self.wait)
                except ZoomEtlError as exc:
                    self.open_error = exc
                    raise
                try:
                    if self.choose is not None:
                        self.streams = self.choose(wh, self.account_ids)
                    wh.start_run(self.streams, run_id=self.run_id, started_at=self.started_at)
                    self.progress = RunProgress(self.path, self.run_id, self.streams, self.started_at)
                except BaseException:
                    wh.close(publish=False)
                    raise
                self.wh = wh
            return self.wh

    def leave(self, result: AccountResult) -> None:
        """An account of this warehouse has ended (or never started); the last one closes the run."""
        with self._lock:
            self.results.append(result)
            self._left -= 1
            last = self._left == 0
            if self.progress is not None:
                self.progress.account_done(result.account_id)
        if last and self.wh is not None:
            self._finish(self.wh)

    def _finish(self, wh: Warehouse) -> None:
        """Analytics views, the run's row, the read copy: what a sync did once all its accounts ended."""
        try:
            crashpoints.reach("pipeline.before_analytics")
            broken = any(r.status == "failed" for r in self.results)
            try:
                analytics.apply(wh.conn)
            except Exception as exc:  # after a failed write (a full disk) the run is recorded anyway
                if not broken:
                    raise
                log.error("analytics views not refreshed: %s", exc)
            status, exit_code, error = outcome(self.results)
            gaps: dict[str, int] = {}
            try:
                gaps = gap_counts(wh, list(self.account_ids), self.streams)
            except Exception as exc:
                if not broken:
                    raise
                log.error("outstanding gaps not counted: %s", exc)
            message = error
            if gaps and not error:
                listed = ", ".join(f"{stream} {count}" for stream, count in gaps.items())
                message = (
                    f"outstanding gaps ({listed}): the next runs fetch them again; see `zoom-etl status`"
                )
                log.warning(message)
            requests: dict[str, int] = {}
            for result in self.results:
                for category, count in result.requests_by_category.items():
                    requests[category] = requests.get(category, 0) + count
            as_of = [r.data_as_of for r in self.results if r.data_as_of is not None]
            crashpoints.reach("pipeline.before_finish")
            wh.finish_run(
                self.run_id,
                status=status,
                exit_code=exit_code,
                requests_by_category=requests,
                errors=sum(r.status == "failed" for r in self.results),
                message=message,
                ended_at=datetime.now(UTC),
                retries=sum(r.retries for r in self.results),
                throttled=sum(r.throttled for r in self.results),
                data_as_of=min(as_of) if as_of else None,
                accounts=[r.as_dict() for r in self.results],
            )
            if self.progress is not None:
                self.progress.clear()
        except BaseException:
            wh.close(publish=False)
            raise
        wh.close()
        read_copy: dict[str, Any] | None = None
        if wh.published is not None:  # published as the warehouse closed, the lock still held
            published = wh.published
            read_copy = {
                "path": str(published.path),
                "bytes": published.bytes,
                "seconds": round(published.seconds, 3),
                "cloned": published.cloned,
            }
        elif wh.publish_error:  # the run is committed, but readers would go on seeing the previous one
            read_copy = {"error": wh.publish_error}
            for result in self.results:
                if result.status != "failed":
                    result.status, result.exit_code, result.error = "failed", EXIT_FAILED, wh.publish_error
        for result in self.results:
            result.read_copy = read_copy
