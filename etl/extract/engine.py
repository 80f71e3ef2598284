"""``extract``: the streams of one account as a stream of events (``Page``, ``Checkpoint``, ``Skip``,
``SourceChoice``), fetched concurrently up to the account's rate limits.

The pipeline hands in each stream's last state and the keys a crashed run left pending, and gets events
back on its own thread; extraction never touches the warehouse. Ordering guarantees the pipeline may rely
on: a ``Checkpoint`` comes after every ``Page`` it covers (it is emitted when the group of tasks it covers
has finished, and events are queued in order); ``Checkpoint.done_keys`` come after the pages of those keys.

Work is planned from the registry (``etl.streams``): the requested streams plus the parents they need
(parents that were not requested are fetched for their keys only: no pages, no state). Per-user listings
start as soon as their page of users arrives; participants start as soon as their instance is listed.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from etl.config import AccountSettings, Settings
from etl.extract import jobs
from etl.extract.fallback import Sources, unavailable_on_plan
from etl.extract.gaps import Outstanding
from etl.extract.scheduler import Emit, Group, Scheduler, lane_sizes
from etl.extract.state import Tracker
from etl.extract.windows import Range, Window, check_since, month_windows, report_floor, stream_range
from etl.http.ratelimit import PLAN_LIMITS
from etl.records import Event, Gap, Skip, SourceChoice
from etl.sources.graphql import Documents
from etl.streams import BY_NAME, STREAMS, Stream, with_ancestors

if TYPE_CHECKING:
    from etl.http.client import ZoomClient

log = logging.getLogger(__name__)

SEEN_YEARS_DAYS = 400  # webinar instances stay listed while their webinar is valid; Zoom forgets after a year


def windowing_of(stream: Stream) -> str:
    """A stream's own windowing, or its parent's (participants follow their instances' windows)."""
    if stream.windowing != "none" or stream.parent is None:
        return stream.windowing
    return BY_NAME[stream.parent].windowing if stream.parent != "users" else "none"


def stream_plan(
    stream: Stream,
    state: Mapping[str, Any],
    settings: Settings,
    *,
    today: date,
    since: date | None,
    full_refresh: bool,
) -> tuple[Range | None, list[Window] | None]:
    """The day range and windows one stream covers in this run (None for snapshot streams)."""
    windowing = windowing_of(stream)
    if windowing == "none":
        return None, None
    floor = report_floor(today) if windowing in ("report_month", "year_month") else None
    span = stream_range(
        state,
        today=today,
        since=since,
        full_refresh=full_refresh,
        lookback_days=settings.lookback_days,
        floor=floor,
    )
    return span, month_windows(span.start, span.end)


@dataclass(eq=False)
class Run:
    """Everything the tasks of one account's extraction share."""

    account_id: str
    client: ZoomClient
    settings: Settings
    documents: Documents
    scheduler: Scheduler
    sources: Sources
    now: datetime
    today: date
    since: date | None
    full_refresh: bool
    requested: frozenset[str]
    active: frozenset[str]
    trackers: dict[str, Tracker]
    outstanding: Outstanding = field(default_factory=Outstanding)
    window_groups: dict[tuple[str, tuple[int, int]], Group] = field(default_factory=dict)
    stream_groups: dict[str, Group] = field(default_factory=dict)
    claimed: set[tuple[str, str]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    nested_page: int = 15  # users per users_with_meetings page (see ``nested_page_size``)

    def claim(self, stream: str, key: str) -> bool:
        """True the first time ``key`` is claimed for ``stream`` in this run (dedupe across sources)."""
        with self.lock:
            if (stream, key) in self.claimed:
                return False
            self.claimed.add((stream, key))
            return True

    def lane(self, name: str) -> str:
        """The rate-limit lane of a stream's next request: its category with the source in use."""
        stream = BY_NAME[name]
        query = stream.graphql
        if query is not None and self.sources.graphql(name):
            return query.category
        return stream.rest[0].category

    def groups(self, names: Sequence[str], month: tuple[int, int] | None = None) -> list[Group]:
        """Groups of ``names`` (and of every descendant) that a task for ``month`` (None: any) keeps open."""
        found: list[Group] = []
        family = {n for n in self.active if any(_descends(n, name) for name in names)}
        for (name, key_month), group in self.window_groups.items():
            if name in family and (month is None or key_month == month):
                found.append(group)
        found.extend(group for name, group in self.stream_groups.items() if name in family)
        return found


def family(groups: Sequence[Group], names: Sequence[str]) -> list[Group]:
    """The groups among ``groups`` held by ``names`` or their descendants (what a child task keeps open)."""
    return [g for g in groups if any(_descends(g.tag, name) for name in names)]


def _descends(name: str, ancestor: str) -> bool:
    current: str | None = name
    while current is not None:
        if current == ancestor:
            return True
        current = BY_NAME[current].parent
    return False


def extract(
    account: AccountSettings,
    client: ZoomClient,
    settings: Settings,
    states: Mapping[str, dict[str, Any]],
    *,
    streams: Sequence[str] | None,
    since: date | None,
    full_refresh: bool,
    now: datetime,
    pending: Mapping[str, Sequence[str]],
    gaps: Sequence[Gap] = (),
    documents: Documents | None = None,
) -> Generator[Event, None, None]:
    """Yield the events of one account's sync (see the module docstring); raises the first fatal error
    (``AuthError``, ``RateLimitError``, ``TransportError``, ``PaginationError``) after cancelling the rest.

    ``streams``: names to sync (None: ``settings.streams``, else all); parents they need are fetched too.
    ``states``: each stream's last committed ``Checkpoint.state``. ``pending``: per keyed child stream
    (``meeting_participants``, ``webinar_participants``, ``webinar_absentees``), the parent keys a
    previous run listed but never acknowledged with ``done_keys``. ``gaps``: the outstanding gaps earlier
    runs left (``etl.extract.gaps``), fetched again in this run. ``documents``: the GraphQL query set
    (default: ``queries/`` checked against ``schemas/zoom.graphql``).
    """
    names = tuple(streams or settings.streams or [s.name for s in STREAMS])
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise KeyError(f"unknown stream(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    today = now.astimezone(UTC).date()
    check_since(since, today)
    unavailable = unavailable_on_plan(names, settings, account.plan, named=bool(streams or settings.streams))
    for name in (n for n in names if n in unavailable):
        log.warning("account %s: %s not synced: %s", account.account_id, name, unavailable[name])
        yield SourceChoice(name, account.account_id, "none", unavailable[name])
    names = tuple(n for n in names if n not in unavailable)
    active = frozenset(with_ancestors(names))
    requested = frozenset(names)
    limits = PLAN_LIMITS[account.plan].per_second
    lanes = lane_sizes(limits, share=settings.rate_share, scale=settings.rate_scale)
    lanes = fit_lanes(lanes, settings.max_concurrency)
    scheduler = Scheduler(lanes)
    ordered = [s for s in STREAMS if s.name in active]
    sources = Sources(account.account_id, ordered, settings, account.plan)
    documents = documents or Documents()
    run = Run(
        account.account_id,
        client,
        settings,
        documents,
        scheduler,
        sources,
        now,
        today,
        since,
        full_refresh,
        requested,
        active,
        {},
        Outstanding(g for g in gaps if g.stream in requested and not g.closed),
    )
    run.nested_page = nested_page_size(limits["medium"] * settings.rate_share * settings.rate_scale)
    opening: list[Event] = [c for c in sources.announcements() if c.stream in requested]
    for stream in ordered:
        if stream.name in requested:
            opening.extend(_track(run, stream, states.get(stream.name) or {}))
    opening.extend(jobs.expire_gaps(run))
    yield from opening
    keys = {k: tuple(v) for k, v in pending.items()}
    for name in jobs.KEYED_CHILDREN:  # a keyed child's gap is its key: fetched like a pending key
        keys[name] = (*keys.get(name, ()), *(g.scope for g in run.outstanding.unclaimed(name)))
    jobs.submit_roots(run, keys)
    yield from scheduler.events()


def nested_page_size(medium_per_second: float) -> int:
    """Users per ``users_with_meetings`` page. Each user's nested ``meetings`` costs one more Medium call,
    charged at once by the server: a page must fit in one second of the Medium limit, or its last users'
    meetings come back RATE_LIMITED (they are then fetched one by one, which is correct but slower)."""
    return max(1, min(300, math.floor(medium_per_second) - 1))


# Where a sync's requests go, most first: participants and reports are Heavy; Light carries little.
LANE_PRIORITY = ("heavy", "medium", "resource_intensive", "light")


def fit_lanes(lanes: Mapping[str, int], cap: int) -> dict[str, int]:
    """At most ``cap`` workers (the HTTP client's connection pool), one per lane at least, the rest given
    to the lanes in ``LANE_PRIORITY`` order up to what each needs. Shrinking every lane in proportion
    would starve the Heavy lane, which carries most of a sync, to feed Light, which carries almost none."""
    if sum(lanes.values()) <= cap:
        return dict(lanes)
    fitted = {name: 1 for name in lanes}
    spare = max(0, cap - len(lanes))
    for name in sorted(
        lanes, key=lambda n: LANE_PRIORITY.index(n) if n in LANE_PRIORITY else len(LANE_PRIORITY)
    ):
        extra = min(lanes[name] - 1, spare)
        fitted[name] += extra
        spare -= extra
    return fitted


def _track(run: Run, stream: Stream, state: Mapping[str, Any]) -> list[Event]:
    """Create the stream's tracker and checkpoint groups; the events to open with (unreachable ranges)."""
    span, windows = stream_plan(
        stream, state, run.settings, today=run.today, since=run.since, full_refresh=run.full_refresh
    )
    name = stream.name
    recent = run.today - timedelta(days=run.settings.lookback_days)
    webinar_child = stream.parent in ("webinars", "webinar_instances")
    tracker = Tracker(
        name,
        run.account_id,
        state,
        windows=windows,
        since=run.since,
        full_refresh=run.full_refresh,
        today=run.today,
        now=run.now,
        seen_horizon=run.today - timedelta(days=SEEN_YEARS_DAYS)
        if webinar_child
        else recent - timedelta(days=1),
        settled_before=recent,
        floor=report_floor(run.today),
        source=lambda: run.sources.source(name),
    )
    run.trackers[name] = tracker
    events: list[Event] = []
    if windows is not None:
        for window in windows:
            run.window_groups[(name, window.month)] = Group(
                f"{name} {window}", on_done=_window_done(tracker, window), tag=name, month=window.month
            )
    else:
        run.stream_groups[name] = Group(name, on_done=lambda emit: emit(tracker.finished()), tag=name)
    if span is not None and span.unreachable is not None:
        first, last = span.unreachable
        events.append(
            Skip(
                name,
                run.account_id,
                f"{first.isoformat()}..{last.isoformat()}",
                "older than the 6 months Zoom keeps reports: not fetchable",
            )
        )
    return events


def _window_done(tracker: Tracker, window: Window) -> Any:
    def done(emit: Emit) -> None:
        emit(tracker.window_done(window))

    return done
