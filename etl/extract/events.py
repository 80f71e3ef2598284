"""Targeted extraction: only what Zoom's events say changed, through the very tasks a full sync runs.

``Targets`` is plain data built from spooled events (``etl.webhooks.targets``, which maps each event to
the streams it touches): whether to list the users again, and which listings of one stream for one
parent key to read (for a windowed stream, for one UTC day). ``extract_targets`` runs them with the generic
tasks of ``jobs`` inside ``engine.extract`` (so a row comes out exactly as a full sync would give it) and
none of the per-user fan-out: a day's listing of one host instead of every user's month windows, and the
children of the records those listings show (new or changed ones, as ``Tracker.is_new`` decides, like a
full sync).

Watermarks: targeted listings cover some parents, not the account, so they never emit the window
checkpoints that move a stream's watermark (the periodic full sync does). Keyed children (participants,
webinar details, absentees) do emit their ``done_keys`` checkpoints, so the next full sync does not fetch
them again. The account-wide windowed reports (``roots(windowed=True)``: a few calls) run as in a full
sync, checkpoints included. The users listing is the one Zoom exception (``USERS``, as in ``jobs``): it is
read whole, its pending users identified, without spawning anything per user.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from etl.config import AccountSettings, Settings
from etl.extract import jobs
from etl.extract.engine import extract
from etl.extract.fetch import Unit, fetch_unit
from etl.extract.gaps import Scope
from etl.extract.run import Run
from etl.extract.scheduler import Emit
from etl.extract.users import USERS, identify_pending, reconcile_users  # USERS: a Zoom exception
from etl.extract.windows import Window
from etl.http.client import ZoomClient
from etl.records import Event
from etl.sources.graphql import Documents
from etl.streams import BY_NAME, STREAMS, family_of, roots


@dataclass(frozen=True, slots=True, order=True)
class Listing:
    """One listing of ``stream`` for the parent key ``key`` (a host's id); a windowed stream is listed
    for the one UTC ``day`` (required for it, ignored otherwise)."""

    stream: str
    key: str
    day: date | None = None

    def window(self) -> Window | None:
        if BY_NAME[self.stream].windowing == "none":
            return None
        if self.day is None:
            raise ValueError(f"a listing of the windowed stream {self.stream} needs its day")
        return Window(self.day, self.day)


@dataclass(frozen=True, slots=True)
class Targets:
    users: bool = False  # list the users again (a user.* event)
    listings: frozenset[Listing] = frozenset()  # each with the children of the records it shows
    account_streams: bool = True  # the account-wide windowed reports, as a full sync reads them

    def streams(self) -> tuple[str, ...]:
        """The streams this targeted fetch writes, in registry order: each listing's stream and the
        streams below it, the users, the account-wide reports."""
        wanted: set[str] = {USERS} if self.users else set()
        for listing in self.listings:
            wanted.update(family_of(listing.stream))
        if self.account_streams:
            wanted.update(s.name for s in roots(windowed=True))
        return tuple(s.name for s in STREAMS if s.name in wanted)


def extract_targets(
    account: AccountSettings,
    client: ZoomClient,
    settings: Settings,
    states: Mapping[str, dict[str, Any]],
    targets: Targets,
    *,
    now: datetime,
    documents: Documents | None = None,
) -> Generator[Event, None, None]:
    """The events (pages, checkpoints, skips) of the targeted fetches of one account: ``engine.extract``
    over ``targets.streams()``, started by ``submit`` instead of the registry's roots (nothing when the
    targets name no stream)."""
    names = targets.streams()
    if not names:
        return
    yield from extract(
        account,
        client,
        settings,
        states,
        streams=names,
        since=None,
        full_refresh=False,
        now=now,
        pending={},
        documents=documents,
        start=partial(submit, targets=targets),
    )


def submit(run: Run, *, targets: Targets) -> None:
    """The first tasks of a targeted fetch (the rest are the children those listings spawn)."""
    scheduler = run.scheduler
    if targets.users and USERS in run.requested:
        scheduler.submit(run.lane(USERS), partial(users_listing, run=run))
    for listing in sorted(targets.listings, key=lambda t: (t.stream, t.key, t.day or date.min)):
        if listing.stream not in run.requested:
            continue
        stream = BY_NAME[listing.stream]
        # No checkpoint groups: the children's tasks emit their own done_keys checkpoints, and no window
        # checkpoint moves a watermark.
        task = partial(
            jobs.listing_task, run=run, name=stream.name, key=listing.key, groups=(), window=listing.window()
        )
        scheduler.submit(run.lane(stream.name), task, depth=jobs.depth_of(stream))
    for stream in roots(windowed=True):
        if not targets.account_streams or stream.name not in run.requested:
            continue
        for window in run.trackers[stream.name].windows or ():
            groups = run.groups((stream.name,), window.month)
            task = partial(jobs.account_window_task, run=run, name=stream.name, window=window)
            scheduler.submit(run.lane(stream.name), task, groups=groups)


def users_listing(emit: Emit, *, run: Run) -> None:
    """The users listing as a full sync reads it when meetings are not nested, without spawning anything
    per user; its checkpoint (``synced_at``) follows."""
    listed: Counter[str] = Counter()

    def on_users(records: list[dict[str, Any]]) -> None:
        records = [r for r in records if isinstance(r, dict)]
        identify_pending(run, emit, records)
        for record in records:
            listed[str(record.get("status") or "")] += 1

    unit = Unit(stream=BY_NAME[USERS], resource=USERS, gap=Scope(""))
    complete = fetch_unit(run, unit, emit, on_users)
    if run.sources.graphql(USERS):
        reconcile_users(run, emit, listed, on_users)
    if complete:
        emit(run.trackers[USERS].finished())
