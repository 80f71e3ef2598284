"""Where a running sync is, across its accounts: the ``Snapshot`` a progress display gets, and the
progress file beside each warehouse (``zoom-etl status`` while the sync runs).

Accounts run at once, so a snapshot sums every account of the run (rows committed, requests sent, 429s,
streams done as ``account_id/stream``) and says how many accounts have ended and which failed; its
``account_id`` is the account whose event prompted it. The reporter is shared by the accounts' threads
and calls the display under one lock, so a display never sees two snapshots at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from etl.records import Checkpoint, Event

if TYPE_CHECKING:
    from etl.accounts import AccountResult, Target
    from etl.http.client import ZoomClient

TICK_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Where a running sync is, for a progress display: handed to ``sync(progress=...)`` after every
    committed batch and, between commits, at most every ``TICK_SECONDS`` as events arrive."""

    account_id: str
    rows: Mapping[str, int]  # rows committed so far, per table (every account)
    requests: Mapping[str, int]  # requests sent so far, per rate-limit category (retries included)
    throttled: int  # 429 responses so far
    streams_done: tuple[str, ...]  # "account_id/stream" of every stream that has fetched all it had to
    streams_total: int  # streams x accounts
    accounts_done: int = 0  # accounts that have ended, failed ones included
    accounts_total: int = 1
    accounts_failed: tuple[str, ...] = ()  # ids of the accounts that failed so far


Progress = Callable[[Snapshot], None]


@dataclass(slots=True)
class _Entry:
    result: AccountResult
    target: Target
    client: ZoomClient | None = None  # while the account runs; its figures are in ``result`` after


class Reporter:
    """Shared by the accounts of a run; see the module docstring."""

    def __init__(self, progress: Progress | None, *, streams_total: int, accounts_total: int) -> None:
        self.progress, self.streams_total, self.accounts_total = progress, streams_total, accounts_total
        self._lock = threading.RLock()
        self._entries: dict[str, _Entry] = {}
        self._done: list[str] = []  # streams finished, as "account_id/stream"
        self._ended: list[str] = []
        self._failed: list[str] = []
        self._shown = time.monotonic()

    def begin(self, result: AccountResult, target: Target) -> None:
        """The account has started (before it has a client: opening its warehouse may fail)."""
        with self._lock:
            self._entries[result.account_id] = _Entry(result, target)

    def attach(self, account_id: str, client: ZoomClient) -> None:
        """The account's client: its requests and 429s count while it runs."""
        with self._lock:
            self._entries[account_id].client = client

    def end(self, result: AccountResult) -> None:
        """The account has ended: its figures are final in ``result``; the display hears of it."""
        with self._lock:
            entry = self._entries[result.account_id]
            began, entry.client = entry.client is not None, None
            self._ended.append(result.account_id)
            if result.status == "failed":
                self._failed.append(result.account_id)
            if began:  # one that never got going (its warehouse not opened) has nothing to show
                self._show(self._snapshot(result.account_id))

    def committed(self, account_id: str) -> None:
        """After a committed batch: the warehouse's progress file, then the display."""
        with self._lock:
            snapshot = self._snapshot(account_id)
            entry = self._entries.get(account_id)
            if entry is not None and entry.target.progress is not None:
                mine = [e for e in self._entries.values() if e.target is entry.target]
                rows, requests, _ = _totals(mine)
                sources: dict[str, str] = {}
                for e in mine:
                    sources.update(e.result.sources)
                entry.target.progress.update(account_id, rows, requests, sources)
            self._show(snapshot)

    def arrived(self, account_id: str, event: Event) -> None:
        with self._lock:
            if isinstance(event, Checkpoint) and event.finished:
                key = f"{account_id}/{event.stream}"
                if key not in self._done:
                    self._done.append(key)
            if self.progress is not None and time.monotonic() - self._shown >= TICK_SECONDS:
                self._show(self._snapshot(account_id))

    def _snapshot(self, account_id: str) -> Snapshot:
        rows, requests, throttled = _totals(list(self._entries.values()))
        return Snapshot(
            account_id,
            rows,
            requests,
            throttled,
            tuple(self._done),
            self.streams_total,
            len(self._ended),
            self.accounts_total,
            tuple(self._failed),
        )

    def _show(self, snapshot: Snapshot) -> None:
        self._shown = time.monotonic()
        if self.progress is not None:
            self.progress(snapshot)


def _totals(entries: list[_Entry]) -> tuple[dict[str, int], dict[str, int], int]:
    """Rows, requests per category and 429s of ``entries``: a running account's from its client."""
    rows: dict[str, int] = {}
    requests: dict[str, int] = {}
    throttled = 0
    for entry in entries:
        for table, count in dict(entry.result.rows).items():
            rows[table] = rows.get(table, 0) + count
        if entry.client is not None:
            stats = entry.client.stats
            by_category, throttled = dict(stats.by_category), throttled + stats.throttled
        else:
            by_category, throttled = (
                dict(entry.result.requests_by_category),
                throttled + entry.result.throttled,
            )
        for category, count in by_category.items():
            requests[category] = requests.get(category, 0) + count
    return rows, requests, throttled
