"""Per-stream bookkeeping of one run: which windows and keys are done, and the state each Checkpoint carries.

State a stream emits (a plain JSON-able dict; the pipeline stores it with the rows it covers):
    source          "graphql" | "rest": what served the stream in this run
    watermark       "yyyy-mm-dd": last day fully covered (windowed streams; never moves back)
    backfill        {"since", "through"}: progress of a ``--since`` backfill, so a rerun resumes
    skipped_users   {user_id: [from, to]}: per-user listings skipped by the "could not have hosted" rule;
                    a later run re-fetches a range once the rule no longer excludes the user
    seen            {key: [digest, day]}: recent instances whose children are complete (participants,
                    webinar details), so an incremental run fetches children only for new or changed ones
    synced_at       ISO time of the run that completed the stream (snapshot streams)
Unknown keys from the previous state are carried over untouched (a full refresh starts empty).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from etl.extract.windows import Window, advance_watermark, merge_skip, merged_watermark, parse_day
from etl.records import Checkpoint


class Tracker:
    """Thread-safe progress of one requested stream; builds its ``Checkpoint`` events."""

    def __init__(
        self,
        name: str,
        account_id: str,
        old_state: Mapping[str, Any],
        *,
        windows: list[Window] | None,
        since: date | None,
        full_refresh: bool,
        today: date,
        now: datetime,
        seen_horizon: date,
        settled_before: date,
        floor: date | None,
        source: Any,
    ) -> None:
        self.name = name
        self.account_id = account_id
        self.windows = windows
        self.base: dict[str, Any] = {} if full_refresh else dict(old_state)
        self._since = since
        self._today = today
        self._now = now
        self._settled_before = settled_before
        self._source = source  # callable: the source in use now
        self._lock = threading.Lock()
        self._done_months: set[tuple[int, int]] = set()
        self.skipped: dict[str, list[str]] = {}
        for user_id, entry in (self.base.get("skipped_users") or {}).items():
            end = parse_day(entry[1]) if isinstance(entry, list | tuple) and len(entry) == 2 else None
            if end is not None and (floor is None or end >= floor):
                self.skipped[str(user_id)] = [str(entry[0]), str(entry[1])]
        # ``seen`` holds what checkpoints carry: entries within the horizon. Older entries of the last
        # state still answer ``is_new`` in this run but are never saved again. Keeping them out of ``seen``
        # keeps every checkpoint's copy the size of the horizon, not of everything the run completed
        # (a copy per completed key made a full sync's checkpoints quadratic in the account's instances).
        self._horizon_day = seen_horizon.isoformat()
        self.seen: dict[str, list[str]] = {}
        self._expired: dict[str, list[str]] = {}
        for key, entry in (self.base.get("seen") or {}).items():
            if isinstance(entry, list | tuple) and len(entry) >= 2 and isinstance(entry[1], str):
                kept = self.seen if entry[1] >= self._horizon_day else self._expired
                kept[str(key)] = list(entry)
        # The copies the last checkpoint carried, shared by the next ones until the tracker changes
        # (checkpoint states are read-only: the loader only serializes them).
        self._seen_copy: dict[str, list[str]] | None = None
        self._skipped_copy: dict[str, list[str]] | None = None

    # ---- questions ---------------------------------------------------------------------------------------

    def is_new(self, key: str, digest: str) -> bool:
        """True when ``key``'s children must be fetched: not completed by an earlier run (within its horizon),
        or its parent record changed. Within a run, callers pair it with ``Run.claim``, which keeps a key
        from being fetched twice (a key completed now, older than the horizon, is not remembered here)."""
        with self._lock:
            entry = self.seen.get(key) or self._expired.get(key)
            return entry is None or entry[0] != digest

    def window_for(self, month: tuple[int, int]) -> Window | None:
        return next((w for w in self.windows or () if w.month == month), None)

    # ---- progress ----------------------------------------------------------------------------------------

    def window_done(self, window: Window) -> Checkpoint:
        """``window`` is fetched: the watermark may move over it, unless no source served the stream (an
        optional stream withdrawn for a missing scope: its windows are fetched by a later run)."""
        with self._lock:
            if self._source() != "none":
                self._done_months.add(window.month)
            last = all(w.month in self._done_months for w in self.windows or ())
            return self._checkpoint(finished=last)

    def key_done(
        self, key: str, digest: str | None, day: date | None, *, settled_only: bool = False
    ) -> Checkpoint:
        """``key``'s children are all emitted: remember its digest (so an unchanged key is not fetched
        again). ``settled_only``: the digest cannot show late report data (webinar instances list only a
        uuid and a start time), so remember the key only once it is older than the lookback window."""
        with self._lock:
            settled = day is not None and day < self._settled_before
            if digest is not None and day is not None and (settled or not settled_only):
                entry = [digest, day.isoformat()]
                # Older than the horizon: not saved; within this run ``Run.claim`` keeps it from refetching.
                if entry[1] >= self._horizon_day and self.seen.get(key) != entry:
                    self.seen[key] = entry
                    self._seen_copy = None
            return self._checkpoint(done_keys=(key,))

    def note_skip(self, user_id: str, window: Window) -> None:
        with self._lock:
            old = self.skipped.get(user_id)
            merged = merge_skip(old, window)
            if merged != old:  # a user skipped again for a window it already covers changes nothing
                self.skipped[user_id] = merged
                self._skipped_copy = None

    def revisited(self, user_id: str) -> None:
        with self._lock:
            if self.skipped.pop(user_id, None) is not None:
                self._skipped_copy = None

    def finished(self) -> Checkpoint:
        with self._lock:
            if self._source() == "none":
                return self._checkpoint()
            if self.windows is not None:
                self._done_months.update(w.month for w in self.windows)
            return self._checkpoint(synced=True)

    # ---- the state -------------------------------------------------------------------------------------

    def _checkpoint(
        self, *, done_keys: tuple[str, ...] = (), synced: bool = False, finished: bool = False
    ) -> Checkpoint:
        state = dict(self.base)
        state["source"] = self._source()
        if self.windows is not None:
            done = [w for w in self.windows if w.month in self._done_months]
            reached = advance_watermark(self.windows, done)
            state["watermark"] = merged_watermark(self.base.get("watermark"), reached)
            if self._since is not None:
                old = self.base.get("backfill") or {}
                through = reached.isoformat() if reached else old.get("through")
                state["backfill"] = {"since": self._since.isoformat(), "through": through}
        if self.skipped or "skipped_users" in self.base:
            if self._skipped_copy is None:
                self._skipped_copy = dict(self.skipped)  # entries are replaced, never changed in place
            state["skipped_users"] = self._skipped_copy
        if self.seen or "seen" in self.base:
            if self._seen_copy is None:
                self._seen_copy = dict(self.seen)
            state["seen"] = self._seen_copy
        if synced:
            state["synced_at"] = self._now.isoformat()
        return Checkpoint(self.name, self.account_id, state, done_keys, finished=synced or finished)
