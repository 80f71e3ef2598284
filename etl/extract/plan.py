"""``plan``: what a sync would do, for ``--dry-run``: streams, sources, windows, estimated calls per
rate-limit category and the wall time the account's limits imply.

HTTP: only the users listing (``GET /users?status=active|inactive|pending``, Medium, one call per 300
users per status), and only when a ``client`` is given and a requested stream is per user; every other
figure is computed. Estimates count what can be known before listing: per-user listings (after the
"could not have hosted" rule), account-wide windows, pages of users. Children of listed things
(participants per instance, webinar instances and their reports) are not known until their parents are
listed; the plan names them in ``unknown`` instead of guessing.
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
from etl.extract.fallback import initial_choice
from etl.extract.windows import Window, cannot_have_hosted, check_since
from etl.http.ratelimit import PLAN_LIMITS
from etl.sources import rest
from etl.streams import BY_NAME, STREAMS, with_ancestors

if TYPE_CHECKING:
    from etl.http.client import ZoomClient

USERS_PAGE = 300


@dataclass(frozen=True, slots=True)
class StreamPlan:
    stream: str
    source: str  # "graphql" | "rest"
    source_reason: str
    range_reason: str  # "incremental from watermark ...", "first run", "" for snapshot streams
    windows: tuple[str, ...]
    calls: Mapping[str, int]  # estimated rate-limit calls per category
    unknown: str = ""  # what cannot be counted before the run


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
                    "unknown": s.unknown,
                }
                for s in self.streams
            ],
            "calls": dict(self.calls),
            "seconds": dict(self.seconds),
            "wall_seconds": self.wall_seconds,
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
) -> Plan:
    """The dry-run plan of one account's sync (see the module docstring)."""
    names = tuple(streams or settings.streams or [s.name for s in STREAMS])
    active = with_ancestors(names)
    today = now.astimezone(UTC).date()
    check_since(since, today)
    per_user = any(BY_NAME[n].parent == "users" for n in active)
    users = count_users(client) if client is not None and per_user else None
    http = "GET /users?status=active|inactive|pending (Medium)" if users is not None else ""
    plans = []
    total: Counter[str] = Counter()
    for name in names:
        stream = BY_NAME[name]
        source, reason = initial_choice(stream, settings.source_for(name), account.plan)
        span, windows = stream_plan(
            stream, states.get(name) or {}, settings, today=today, since=since, full_refresh=full_refresh
        )
        calls, unknown = _estimate(name, source, windows or [], users)
        total.update(calls)
        plans.append(
            StreamPlan(
                name,
                source,
                reason,
                span.reason if span else "",
                tuple(str(w) for w in windows or ()),
                dict(calls),
                unknown,
            )
        )
    limits = PLAN_LIMITS[account.plan].per_second
    seconds = {
        category: calls / (limits[category] * settings.rate_share * settings.rate_scale)
        for category, calls in total.items()
    }
    return Plan(
        account.account_id,
        account.plan,
        len(users) if users is not None else None,
        tuple(plans),
        dict(total),
        seconds,
        max(seconds.values(), default=0.0),
        http,
    )


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
