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
from collections.abc import Callable, Generator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from etl.config import AccountSettings, Settings
from etl.extract import jobs
from etl.extract.fallback import Sources, unavailable_on_plan
from etl.extract.gaps import Outstanding
from etl.extract.run import Run
from etl.extract.scheduler import Emit, Group, Scheduler, lane_sizes
from etl.extract.state import Tracker
from etl.extract.windows import Range, Window, check_since, month_windows, report_floor, stream_range
from etl.http.ratelimit import PLAN_LIMITS
from etl.records import Event, Gap, Skip, SourceChoice
from etl.sources.graphql import Documents
from etl.streams import BY_NAME, STREAMS, Stream, keyed_streams, with_ancestors

if TYPE_CHECKING:
    from etl.http.client import ZoomClient

log = logging.getLogger(__name__)

SEEN_YEARS_DAYS = 400  # webinar instances stay listed while their webinar is valid; Zoom forgets after a year


def windowing_of(stream: Stream) -> str:
    """A stream's own windowing, or its parent's (participants follow their instances' windows)."""
    if stream.windowing != "none" or stream.parent is None:
        return stream.windowing
    return BY_NAME[stream.parent].windowing


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
    scheduler_type: Callable[[Mapping[str, int]], Scheduler] = Scheduler,
    start: Callable[[Run], None] | None = None,
) -> Generator[Event, None, None]:
    """Yield the events of one account's sync (see the module docstring); raises the first fatal error
    (``AuthError``, ``RateLimitError``, ``TransportError``, ``PaginationError``) after cancelling the rest.

    ``streams``: names to sync (None: ``settings.streams``, else all); parents they need are fetched too.
    ``states``: each stream's last committed ``Checkpoint.state``. ``pending``: per keyed child stream
    (``meeting_participants``, ``webinar_participants``, ``webinar_absentees``), the parent keys a
    previous run listed but never acknowledged with ``done_keys``. ``gaps``: the outstanding gaps earlier
    runs left (``etl.extract.gaps``), fetched again in this run. ``documents``: the GraphQL query set
    (default: ``queries/`` checked against ``schemas/zoom.graphql``). ``scheduler_type``: what runs the
    tasks (a test passes one that also records what it is given). ``start``: what submits the first tasks
    instead of the registry's roots, pending keys and gaps (``jobs.submit_roots``): a targeted sync's few
    listings (``etl.extract.events``); only the streams named are then run (no parent for its keys), and
    one of them Zoom does not serve on the plan is left out, not refused.
    """
    names = tuple(streams or settings.streams or [s.name for s in STREAMS])
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise KeyError(f"unknown stream(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    today = now.astimezone(UTC).date()
    check_since(since, today)
    named = start is None and bool(streams or settings.streams)
    unavailable = unavailable_on_plan(names, settings, account.plan, named=named)
    for name in (n for n in names if n in unavailable):
        log.warning("account %s: %s not synced: %s", account.account_id, name, unavailable[name])
        yield SourceChoice(name, account.account_id, "none", unavailable[name])
    names = tuple(n for n in names if n not in unavailable)
    requested = frozenset(names)
    active = requested if start is not None else frozenset(with_ancestors(names))
    limits = PLAN_LIMITS[account.plan].per_second
    lanes = lane_sizes(limits, share=settings.rate_share, scale=settings.rate_scale)
    lanes = fit_lanes(lanes, settings.max_concurrency)
    scheduler = scheduler_type(lanes)
    ordered = [s for s in STREAMS if s.name in active]
    sources = Sources(account.account_id, ordered, settings, account.plan)
    documents = documents or Documents()
    run = Run(
        account_id=account.account_id,
        client=client,
        settings=settings,
        documents=documents,
        scheduler=scheduler,
        sources=sources,
        now=now,
        today=today,
        since=since,
        full_refresh=full_refresh,
        requested=requested,
        active=active,
        trackers={},
        outstanding=Outstanding(g for g in gaps if g.stream in requested and not g.closed),
    )
    run.nested_page = nested_page_size(limits["medium"] * settings.rate_share * settings.rate_scale)
    opening: list[Event] = [c for c in sources.announcements() if c.stream in requested]
    for stream in ordered:
        if stream.name in requested:
            opening.extend(_track(run, stream, states.get(stream.name) or {}))
    opening.extend(jobs.expire_gaps(run))
    yield from opening
    if start is not None:
        start(run)
        yield from scheduler.events()
        return
    keys = {k: tuple(v) for k, v in pending.items()}
    for name in (
        s.name for s in keyed_streams()
    ):  # a keyed child's gap is its key: fetched like a pending key
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
    ended_child = stream.refetch == "ended"  # listed while their parent is valid, not just recently
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
        if ended_child
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
