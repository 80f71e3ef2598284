"""The sync's side of the spool: read the events, say what to fetch, record what they led to.

``EventPass`` is used by ``etl.pipeline.sync`` while it holds the warehouse:

1. ``reconcile_due``: whether this ``sync --events`` must poll everything instead (the last full sync is
   older than ``reconcile_every``; Zoom drops an event after its third failed delivery, and a receiver
   that was down missed them all);
2. ``targets``: per account, what the spooled events ask for (``etl.webhooks.targets``); events a
   previous sync already finished (a crash after its commit, or Zoom delivering again later) are dropped
   from the spool here, as their effect is committed;
3. ``finish``: once the account's rows are committed, each event's row in ``zoom.events`` (with its
   status) is committed in a transaction of its own, and only then are the finished events removed from
   the spool; pending ones stay for the next sync.

Accounts run at once (``etl.pipeline``), each on its own thread, and may share a warehouse: one
``EventPass`` serves them all, its own state under a lock, and every read of the warehouse takes its turn
on ``Warehouse.busy`` (never held while a page is committed: the loader's thread takes it then).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson

from etl.config.model import WebhookSettings
from etl.extract.events import Targets
from etl.records import Page
from etl.streams import STREAMS
from etl.warehouse.connection import Warehouse
from etl.webhooks.spool import Entry, Spool
from etl.webhooks.targets import (
    EVENTS,
    FINAL,
    PARTICIPANTS,
    SCHEDULED,
    WAITS_FOR_DATA,
    WEBINARS,
    account_of,
    record_of,
    status_of,
    targets_for,
)

log = logging.getLogger("etl.webhooks")


def last_full_sync(wh: Warehouse) -> datetime | None:
    """Zoom's clock when the last ok or partial sync of every stream began reading (None: never)."""
    every = {s.name for s in STREAMS}
    with wh.busy:
        rows = wh.conn.execute(
            "SELECT streams, data_as_of FROM _etl.runs WHERE status IN ('ok', 'partial')"
            " AND data_as_of IS NOT NULL ORDER BY data_as_of DESC"
        ).fetchall()
    for streams, as_of in rows:
        names = orjson.loads(streams) if isinstance(streams, str) else streams
        if isinstance(names, list) and every <= set(names):
            return as_of
    return None


class EventPass:
    def __init__(self, spool: Spool, settings: WebhookSettings, *, read: bool = True) -> None:
        self.spool = spool
        self.settings = settings
        self.entries = spool.entries() if read else []
        self.summary: Counter[str] = Counter()
        self._previous: dict[str, tuple[str, int]] = {}  # id -> (status, attempts) in zoom.events
        self.lock = threading.Lock()  # entries, summary, _previous: the accounts' threads share them

    def reconcile_due(self, wh: Warehouse, now: datetime) -> bool:
        last = last_full_sync(wh)
        return last is None or now - last > timedelta(seconds=self.settings.reconcile_every_seconds)

    def _of(self, wh: Warehouse, account_id: str) -> list[Entry]:
        """The account's entries still to work on; finished ones (already final in ``zoom.events``) are
        removed from the spool now."""
        with self.lock:
            mine = [e for e in self.entries if account_of(e) == account_id]
        if not mine:
            return []
        with wh.busy:
            rows = wh.conn.execute(
                "SELECT id, status, attempts FROM zoom.events WHERE account_id = ? AND list_contains(?, id)",
                [account_id, [e.id for e in mine]],
            ).fetchall()
        unapplied = []
        with self.lock:
            self._previous.update({ident: (status, int(n or 0)) for ident, status, n in rows})
            for entry in mine:
                if self._previous.get(entry.id, ("", 0))[0] in FINAL:
                    self.spool.remove(entry)
                    self.entries.remove(entry)
                    self.summary["already_done"] += 1
                else:
                    unapplied.append(entry)
        return unapplied

    def targets(self, wh: Warehouse, account_id: str) -> Targets:
        entries = self._of(wh, account_id)
        ids = sorted(
            {str(obj.get("id")) for e in entries if not (obj := _obj(e)).get("host_id") and obj.get("id")}
        )
        hosts: dict[str, str] = {}
        if ids:
            for table in (SCHEDULED, WEBINARS):
                with wh.busy:
                    found = wh.conn.execute(
                        f"SELECT CAST(id AS VARCHAR), host_id FROM zoom.{table}"
                        " WHERE account_id = ? AND list_contains(?, CAST(id AS VARCHAR))",
                        [account_id, ids],
                    ).fetchall()
                hosts.update(found)
        return targets_for(entries, hosts=hosts)

    def finish(
        self,
        wh: Warehouse,
        submit: Callable[[Page], None],
        account_id: str,
        now: datetime,
        *,
        fetched: bool,
        polled: bool,
    ) -> None:
        """Record the account's events in ``zoom.events`` through ``submit`` (which commits the page and
        waits for it), then drop the finished ones from the spool."""
        entries = self._of(wh, account_id)
        if not entries:
            return
        present: dict[str, set[str]] = {}
        uuids = [str(_obj(e).get("uuid") or "") for e in entries]
        with wh.busy:
            for table, key in WAITS_FOR_DATA.values():
                present[table] = {
                    r[0]
                    for r in wh.conn.execute(
                        f"SELECT {key} FROM zoom.{table} WHERE account_id = ? AND list_contains(?, {key})",
                        [account_id, uuids],
                    ).fetchall()
                }
            done = {
                r[0]
                for r in wh.conn.execute(
                    "SELECT key FROM _etl.done_keys WHERE stream = ? AND account_id = ?"
                    " AND list_contains(?, key)",
                    [PARTICIPANTS, account_id, uuids],
                ).fetchall()
            }
        records: list[dict[str, Any]] = []
        finished: list[Entry] = []
        for entry in entries:
            status = status_of(
                entry,
                present=present,
                done_participants=done,
                now=now,
                pending_hours=self.settings.pending_hours,
                fetched=fetched,
                polled=polled,
            )
            with self.lock:
                attempts = self._previous.get(entry.id, ("", 0))[1] + 1
                self.summary[status] += 1
            records.append(record_of(entry, status, attempts))
            if status in FINAL:
                finished.append(entry)
        submit(Page(EVENTS, account_id, "webhook", "POST webhooks (spool)", now, records, {}))
        for entry in finished:  # their rows and effects are committed: the spool may forget them
            self.spool.remove(entry)
        pending = sum(1 for r in records if r["status"] == "pending")
        if pending:
            log.info(
                "account %s: %d event(s) pending (Zoom's report not ready): the next sync tries again",
                account_id,
                pending,
            )


def _obj(entry: Entry) -> dict[str, Any]:
    payload = entry.body.get("payload")
    obj = payload.get("object") if isinstance(payload, dict) else None
    return obj if isinstance(obj, dict) else {}
