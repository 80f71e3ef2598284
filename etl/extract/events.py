"""Targeted extraction: only what Zoom's events say changed, through the very tasks a full sync runs.

``Targets`` is plain data built from spooled events (``etl.webhooks.targets``): which users' scheduled
meetings to list again, which (host, day) meeting-instance and recording listings to read, which hosts'
webinars, and whether to list users. ``extract_targets`` runs them with the tasks of ``jobs`` (so a row
comes out exactly as a full sync would give it) and none of the per-user fan-out: a day's listing of one
host instead of every user's month windows, participants only for the instances those listings show
(new or changed ones, as ``Tracker.is_new`` decides, like a full sync).

Watermarks: targeted listings cover some hosts, not the account, so they never emit the window checkpoints
that move a stream's watermark (the periodic full sync does). Keyed children (participants, webinar
details, absentees) do emit their ``done_keys`` checkpoints, so the next full sync does not fetch them
again. The account-wide report streams (daily usage, sign-ins, operation logs: a few calls) run as in
a full sync, checkpoints included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from etl.config import AccountSettings, Settings
from etl.extract import jobs
from etl.extract.engine import Run, _track, fit_lanes, nested_page_size
from etl.extract.fallback import Sources, unavailable_on_plan
from etl.extract.fetch import Unit, fetch_unit
from etl.extract.gaps import Outstanding, Scope
from etl.extract.scheduler import Emit, Scheduler, lane_sizes
from etl.extract.users import identify_pending, reconcile_users
from etl.extract.windows import Window
from etl.http.client import ZoomClient
from etl.http.ratelimit import PLAN_LIMITS
from etl.records import Event, SourceChoice
from etl.sources.graphql import Documents
from etl.streams import BY_NAME, STREAMS


@dataclass(frozen=True, slots=True)
class Targets:
    users: bool = False  # list users again (any user.* event)
    meetings_of: frozenset[str] = frozenset()  # host ids whose scheduled meetings to list
    instances_of: frozenset[tuple[str, date]] = frozenset()  # (host id, UTC day): instances + participants
    recordings_of: frozenset[tuple[str, date]] = frozenset()  # (host id, UTC day): cloud recordings
    webinars_of: frozenset[str] = frozenset()  # host ids: webinars, their new instances and children
    account_streams: bool = True  # daily usage, sign-in activity, operation logs (as a full sync)
    skipped: dict[str, str] = field(default_factory=dict)  # streams left out, and why

    def streams(self) -> tuple[str, ...]:
        wanted: set[str] = set()
        if self.users:
            wanted.add("users")
        if self.meetings_of:
            wanted.add("meetings")
        if self.instances_of:
            wanted.update(("meeting_instances", "meeting_participants"))
        if self.recordings_of:
            wanted.add("recordings")
        if self.webinars_of:
            wanted.update(("webinars", *jobs.WEBINAR_FAMILY))
        if self.account_streams:
            wanted.update(jobs.ACCOUNT_STREAMS)
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
    """The events (pages, checkpoints, skips) of the targeted fetches of one account."""
    names = targets.streams()
    unavailable = unavailable_on_plan(names, settings, account.plan, named=False)
    for name in (n for n in names if n in unavailable):
        yield SourceChoice(name, account.account_id, "none", unavailable[name])
    names = tuple(n for n in names if n not in unavailable)
    if not names:
        return
    requested = frozenset(names)
    limits = PLAN_LIMITS[account.plan].per_second
    lanes = fit_lanes(
        lane_sizes(limits, share=settings.rate_share, scale=settings.rate_scale), settings.max_concurrency
    )
    ordered = [s for s in STREAMS if s.name in requested]
    sources = Sources(account.account_id, ordered, settings, account.plan)
    today = now.astimezone(UTC).date()
    # ``active`` is only what is requested: no task of this run spawns the per-user fan-out.
    run = Run(
        account.account_id,
        client,
        settings,
        documents or Documents(),
        Scheduler(lanes),
        sources,
        now,
        today,
        None,
        False,
        requested,
        requested,
        {},
        Outstanding(()),
    )
    run.nested_page = nested_page_size(limits["medium"] * settings.rate_share * settings.rate_scale)
    opening: list[Event] = [c for c in sources.announcements() if c.stream in requested]
    for stream in ordered:
        opening.extend(_track(run, stream, states.get(stream.name) or {}))
    yield from opening
    _submit(run, targets)
    yield from run.scheduler.events()


def _submit(run: Run, targets: Targets) -> None:
    scheduler = run.scheduler
    if targets.users and "users" in run.requested:
        scheduler.submit(run.lane("users"), lambda emit: _users(run, emit))
    for host in sorted(targets.meetings_of if "meetings" in run.requested else ()):
        scheduler.submit(run.lane("meetings"), jobs._bind(jobs.meetings_task, run, host, None), depth=1)
    for name, pairs in (("meeting_instances", targets.instances_of), ("recordings", targets.recordings_of)):
        if name not in run.requested:
            continue
        for host, day in sorted(pairs):
            # No checkpoint groups: participants' tasks emit their own done_keys checkpoints, and no
            # window checkpoint moves a watermark.
            task = jobs._bind(jobs.listing_task, run, name, host, Window(day, day), [])
            scheduler.submit(run.lane(name), task, depth=1)
    if "webinars" in run.requested:
        for host in sorted(targets.webinars_of):
            scheduler.submit(run.lane("webinars"), jobs._bind(jobs.webinars_task, run, host, []), depth=1)
    for name in jobs.ACCOUNT_STREAMS:
        if name in run.requested:
            for window in run.trackers[name].windows or ():
                groups = run.groups((name,), window.month)
                scheduler.submit(
                    run.lane(name), jobs._bind(jobs.account_window_task, run, name, window), groups=groups
                )


def _users(run: Run, emit: Emit) -> None:
    """The users listing as a full sync reads it when meetings are not nested, without spawning anything
    per user; its checkpoint (``synced_at``) follows."""
    listed: Counter[str] = Counter()

    def on_users(records: list[dict[str, Any]]) -> None:
        records = [r for r in records if isinstance(r, dict)]
        identify_pending(run, emit, records)
        for record in records:
            listed[str(record.get("status") or "")] += 1

    unit = Unit(BY_NAME["users"], "users", {}, {}, {}, {}, True, Scope(""))
    complete = fetch_unit(run, unit, emit, on_users)
    if run.sources.graphql("users"):
        reconcile_users(run, emit, listed, on_users)
    if complete:
        emit(run.trackers["users"].finished())
