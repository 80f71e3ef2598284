"""``plan``: what a sync would do, for ``--dry-run``: streams, sources, windows, estimated calls per
rate-limit category and the wall time the account's limits imply.

HTTP: only the users listing (``GET /users?status=active|inactive|pending``, Medium, one call per 300
users per status), and only when a ``client`` is given and a requested stream is per user; every other
figure is computed. Estimates count what can be known before listing: per-user listings (after the
"could not have hosted" rule), account-wide windows, pages of users. Children of listed things
(participants per instance, webinar instances and their reports) are not known until their parents are
listed: ``etl.plan.estimate`` sizes them from the warehouse's history or, on a first sync, from the
daily usage report (``GET /report/daily``, Heavy, one call per month, only with a ``client``), as a range
(``calls`` low, ``calls_high``); where neither is at hand the plan names them in ``unknown``.

Zoom exception: the estimates are per stream by nature (which report figure sizes which stream: the daily
usage report counts meetings and participants, not webinars), so this module, unlike ``etl.extract``,
names streams. It sits above extraction and reuses its rules (windows, sources, the Free plan).

Time: calls / (limit x share x scale) per category, the slowest category bounding the run; the high end
adds ``PACING`` for what the run loses to pacing and latency (the bench profile's full sync took 1.02 x
that bound).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from etl.config import AccountSettings, Settings
from etl.extract.engine import stream_plan, windowing_of
from etl.extract.fallback import initial_choice, unavailable_on_plan
from etl.extract.jobs import may_host_webinars
from etl.extract.windows import Window, cannot_have_hosted, check_since
from etl.http.ratelimit import PLAN_LIMITS
from etl.plan.estimate import History, Parents, fetch_daily_usage, from_daily_usage, from_history
from etl.sources import rest
from etl.streams import BY_NAME, STREAMS, family_of, with_ancestors

if TYPE_CHECKING:
    from etl.http.client import ZoomClient

USERS_PAGE = 300
PACING = 1.10  # the high end of the wall time: the bound plus what pacing and latency cost


@dataclass(frozen=True, slots=True)
class StreamPlan:
    stream: str
    source: str  # "graphql" | "rest" | "none" (nothing serves it on the plan: ``source_reason`` says why)
    source_reason: str
    range_reason: str  # "incremental from watermark ...", "first run", "" for snapshot streams
    windows: tuple[str, ...]
    calls: Mapping[str, int]  # estimated rate-limit calls per category (the low end)
    unknown: str = ""  # what cannot be counted before the run
    calls_high: Mapping[str, int] = field(default_factory=dict)  # the high end
    basis: str = ""  # what the children's estimate rests on


@dataclass(frozen=True, slots=True)
class Plan:
    account_id: str
    plan: str
    users: int | None  # None: not counted (no client given)
    streams: tuple[StreamPlan, ...]
    calls: Mapping[str, int]
    seconds: Mapping[str, float]  # calls / (limit x share x scale), per category
    wall_seconds: float  # categories run side by side: the slowest one bounds the run
    http: str = field(default="")  # what the plan itself requested
    calls_high: Mapping[str, int] = field(default_factory=dict)
    wall_seconds_high: float = 0.0

    @property
    def requests(self) -> tuple[int, int]:
        return sum(self.calls.values()), sum(self.calls_high.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "plan": self.plan,
            "users": self.users,
            "streams": [
                {
                    "stream": s.stream,
                    "source": s.source,
                    "source_reason": s.source_reason,
                    "range": s.range_reason,
                    "windows": list(s.windows),
                    "calls": dict(s.calls),
                    "calls_high": dict(s.calls_high),
                    "basis": s.basis,
                    "unknown": s.unknown,
                }
                for s in self.streams
            ],
            "calls": dict(self.calls),
            "calls_high": dict(self.calls_high),
            "requests": {"low": self.requests[0], "high": self.requests[1]},
            "seconds": dict(self.seconds),
            "wall_seconds": self.wall_seconds,
            "wall_seconds_high": self.wall_seconds_high,
            "http": self.http,
        }


def plan(
    account: AccountSettings,
    client: ZoomClient | None,
    settings: Settings,
    states: Mapping[str, Mapping[str, Any]],
    *,
    streams: Sequence[str] | None,
    since: date | None,
    full_refresh: bool,
    now: datetime,
    history: History | None = None,
) -> Plan:
    """The dry-run plan of one account's sync (see the module docstring)."""
    names = tuple(streams or settings.streams or [s.name for s in STREAMS])
    today = now.astimezone(UTC).date()
    check_since(since, today)
    unavailable = unavailable_on_plan(names, settings, account.plan, named=bool(streams or settings.streams))
    active = with_ancestors(tuple(n for n in names if n not in unavailable))
    per_user = any(BY_NAME[n].parent == "users" for n in active)
    users = count_users(client) if client is not None and per_user else None
    http = ["GET /users?status=active|inactive|pending (Medium)"] if users is not None else []
    parents, asked = _parents(
        client, settings, account.plan, states, history, active, today, since, full_refresh
    )
    http += asked
    plans = []
    total: Counter[str] = Counter()
    total_high: Counter[str] = Counter()
    for name in names:
        if name in unavailable:
            plans.append(StreamPlan(name, "none", unavailable[name], "", (), {}))
            continue
        stream = BY_NAME[name]
        source, reason = initial_choice(stream, settings.source_for(name), account.plan)
        span, windows = stream_plan(
            stream, states.get(name) or {}, settings, today=today, since=since, full_refresh=full_refresh
        )
        calls, unknown = _estimate(name, source, windows or [], users)
        if name == "users" and source == "graphql":
            calls[BY_NAME["users"].rest[0].category] += len(BY_NAME["users"].fanout)  # REST's totals
        webinars = any(n in active for n in family_of("webinar_instances"))
        if name == "meeting_instances" and source == "graphql" and users and webinars:
            calls["heavy"] += sum(  # the meeting report, for webinars that ended for good
                1
                for u in users
                for w in windows or ()
                if may_host_webinars(u) and not cannot_have_hosted(u, w)
            )
        high = Counter(calls)
        basis = ""
        if name in parents:
            low_children, high_children, basis = _children(name, source, parents[name], history)
            calls.update(low_children)
            high.update(high_children)
            unknown = "extra pages of instances with more than 300 participants" if low_children else unknown
        total.update(calls)
        total_high.update(high)
        plans.append(
            StreamPlan(
                name,
                source,
                reason,
                span.reason if span else "",
                tuple(str(w) for w in windows or ()),
                dict(calls),
                unknown,
                dict(high),
                basis,
            )
        )
    limits = PLAN_LIMITS[account.plan].per_second
    per_second = {c: limits[c] * settings.rate_share * settings.rate_scale for c in limits}
    seconds = {category: calls / per_second[category] for category, calls in total.items()}
    seconds_high = {category: calls / per_second[category] for category, calls in total_high.items()}
    return Plan(
        account.account_id,
        account.plan,
        len(users) if users is not None else None,
        tuple(plans),
        dict(total),
        seconds,
        max(seconds.values(), default=0.0),
        "; ".join(http),
        dict(total_high),
        max(seconds_high.values(), default=0.0) * PACING,
    )


def _parents(
    client: ZoomClient | None,
    settings: Settings,
    plan: str,
    states: Mapping[str, Mapping[str, Any]],
    history: History | None,
    active: Sequence[str],
    today: date,
    since: date | None,
    full_refresh: bool,
) -> tuple[dict[str, Parents], list[str]]:
    """The parents of the keyed child streams (``etl.plan.estimate``), and the requests that cost."""
    if "meeting_participants" not in active and "webinar_instances" not in active:
        return {}, []
    state = states.get("meeting_participants") or states.get("meeting_instances") or {}
    _, windows = stream_plan(
        BY_NAME["meeting_participants"], state, settings, today=today, since=since, full_refresh=full_refresh
    )
    watermark = state.get("watermark")
    if history is not None and history.instances and watermark:
        return from_history(
            history,
            windows or [],
            watermark=date.fromisoformat(str(watermark)),
            lookback_days=settings.lookback_days,
            full_refresh=full_refresh,
        ), []
    if client is None or not windows:
        return {}, []
    from etl.errors import ZoomEtlError

    try:
        days = fetch_daily_usage(client, windows)
    except ZoomEtlError:  # not on this plan, or not granted: the children stay "not counted"
        return {}, []
    months = len({w.month for w in windows})
    stream = BY_NAME["meeting_instances"]
    rest = initial_choice(stream, settings.source_for(stream.name), plan)[0] == "rest"
    return from_daily_usage(days, windows, rest=rest), [f"GET /report/daily x{months} (Heavy)"]


def _children(
    name: str, source: str, parents: Parents, history: History | None
) -> tuple[Counter[str], Counter[str], str]:
    """Calls for the children of ``parents``: one per parent, in the stream's category; a webinar's
    instances also cost one Light listing per webinar, and one Heavy report per instance."""
    stream = BY_NAME[name]
    query = stream.graphql
    category = query.category if source == "graphql" and query else stream.rest[0].category
    low: Counter[str] = Counter()
    high: Counter[str] = Counter()
    if name == "webinar_instances":
        webinars = history.webinars if history is not None else 0
        low[category] += webinars
        high[category] += webinars
        category = stream.details.category if stream.details else category
    low[category] += parents.low
    high[category] += parents.high
    return +low, +high, parents.basis


def count_users(client: ZoomClient) -> list[dict[str, Any]]:
    """Every user (id, status, creation, last sign-in): what the per-user estimates need."""
    endpoint = BY_NAME["users"].rest[0]
    found: list[dict[str, Any]] = []
    for params in BY_NAME["users"].fanout:
        for page in rest.fetch_pages(client, endpoint, {}, dict(params)):
            found.extend(page.records)
    return found


def _estimate(
    name: str, source: str, windows: Sequence[Window], users: list[dict[str, Any]] | None
) -> tuple[Counter[str], str]:
    stream = BY_NAME[name]
    query = stream.graphql
    category = query.category if source == "graphql" and query else stream.rest[0].category
    calls: Counter[str] = Counter()
    if name == "users":
        pages = math.ceil(len(users) / USERS_PAGE) if users else 1
        calls[category] += pages if source == "graphql" else pages * len(stream.fanout)
        if source == "rest" and stream.details is not None and users:  # a pending user's id, by email
            lookups = sum(1 for u in users if u.get("status") == "pending" and not u.get("id"))
            if lookups:
                calls[stream.details.category] += lookups
        return calls, "" if users is not None else "user count not known (no client)"
    if stream.parent == "users":
        if users is None:
            return calls, "per user: user count not known (no client)"
        if windowing_of(stream) == "none":
            calls[category] += sum(1 for u in users if u.get("status") != "pending")
        else:
            calls[category] += sum(1 for u in users for w in windows if not cannot_have_hosted(u, w))
        return calls, "extra pages of users with more than 300 items"
    if stream.parent is None:
        calls[category] += len(windows)
        return calls, "extra pages beyond the first of each window" if stream.rest[
            0
        ].paging == "token" else ""
    return calls, f"one {category} call (or more) per {stream.context_key or 'parent'} listed in the run"
