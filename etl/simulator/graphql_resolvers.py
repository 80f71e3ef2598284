"""Resolvers of the simulator's GraphQL executor: the Account, seen at ``now``, in Zoom's GraphQL shapes.

Every list field is a connection (``edges`` = the items, ``pageInfo { cursor }``) paged by ``first`` and
``after`` over the Account's stable listings (item shapes, cursors and faults: ``graphql_items``). Every
listing is "as seen at" ``ctx.now``.

Rate-limit charging follows Zoom's rule (graphql-ratelimits page): each requested list or object field costs
one call of its REST equivalent, per parent object, before its children run. A refused charge on a root
field aborts the request with HTTP 429 (``RootRateLimited``); on a nested field the field resolves to null
with a ``RATE_LIMITED`` error, so a rate-limited parent runs no children.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from graphql import GraphQLResolveInfo

from etl.simulator.graphql_context import GraphQLContext
from etl.simulator.graphql_items import (
    daily_item,
    error,
    fingerprint,
    instance_item,
    page,
    page_bounds,
    participant_item,
    recording_item,
    scheduled_item,
    user_item,
    webinar_item,
)
from etl.simulator.model import Account, MeetingInstance, User
from etl.simulator.rest.common import RECENT_MONTHS, YEAR, add_months

T = TypeVar("T")

DEFAULT_WINDOW = timedelta(days=30)
"""``from`` defaults to 30 days before ``to``; ``to`` defaults to the simulated today (modelled)."""
RATE_LIMIT_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."
ROLE_NAMES = {"0": "Owner", "1": "Admin", "2": "Member"}


class RootRateLimited(Exception):
    """A root field's charge was refused: the endpoint answers the whole request with HTTP 429."""

    def __init__(self, category: str) -> None:
        super().__init__(f"rate limited ({category})")
        self.category = category


@dataclass(slots=True)
class Request:
    """Per-request state handed to every resolver as ``info.context``."""

    account: Account
    ctx: GraphQLContext
    nullable: dict[str, tuple[str, ...]]  # object type -> nullable leaf fields, sorted (for faults)
    hosts: dict[str, User | None] = field(default_factory=dict)
    root_limited: str = ""  # the refused category, when a root field was refused

    def host(self, user_id: str) -> User | None:
        if user_id not in self.hosts:
            self.hosts[user_id] = self.account.user(user_id, self.ctx.now)
        return self.hosts[user_id]


# ---- paging and charging ----------------------------------------------------------------------------


def connection(
    items: Sequence[T],
    bounds: tuple[int, int],
    fp: str,
    convert: Callable[[T], dict[str, Any]],
    type_name: str,
    req: Request,
) -> dict[str, Any]:
    """One page of ``items`` with the request's fault knobs applied to the ``type_name`` items."""
    return page(items, bounds, fp, convert, req.nullable[type_name], req.ctx)


def charge(info: GraphQLResolveInfo, category: str) -> None:
    """Charge one call of ``category`` for this field, or refuse the field (see the module docstring)."""
    req: Request = info.context
    if req.ctx.charge(category, 1):
        return
    if info.path.prev is None:
        req.root_limited = category
        raise RootRateLimited(category)
    raise error(RATE_LIMIT_MESSAGE, "RATE_LIMITED")


# ---- argument helpers -------------------------------------------------------------------------------


def parse_day(text: str, name: str) -> date:
    """A ``yyyy-mm-dd`` argument (a longer ISO timestamp counts by its date, as Zoom's REST ``from`` does)."""
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise error(f"Argument '{name}' must be a date yyyy-mm-dd, got {text!r}.", "BAD_USER_INPUT") from None


def window(args: dict[str, Any], now: datetime, *, recent: bool) -> tuple[datetime, datetime]:
    """[start, end) in UTC from inclusive ``from``/``to`` dates (defaults: the 30 days up to today).

    The REST rules of the operation each field is modelled on apply (Zoom documents none for GraphQL, so
    the simulator assumes the strict ones): at most one month per window and, if ``recent`` (reports),
    nothing before the last six months."""
    to_day = parse_day(args["to"], "to") if args.get("to") else now.date()
    from_day = parse_day(args["from"], "from") if args.get("from") else to_day - DEFAULT_WINDOW
    if from_day > to_day:
        raise error(f"'from' ({from_day}) is after 'to' ({to_day}).", "BAD_USER_INPUT")
    if args.get("from") and to_day > add_months(from_day, 1):  # the default (30 days) always fits
        raise error("The date range must be within one month.", "BAD_USER_INPUT")
    if recent and from_day < add_months(now.date(), -RECENT_MONTHS):
        raise error("Only provide report in recent 6 months.", "BAD_USER_INPUT")
    start = datetime(from_day.year, from_day.month, from_day.day, tzinfo=UTC)
    end = datetime(to_day.year, to_day.month, to_day.day, tzinfo=UTC) + timedelta(days=1)
    return start, end


def require_user(req: Request, user_id: str) -> User:
    user = req.account.user(user_id, req.ctx.now)
    if user is None:
        raise error(f"User {user_id} does not exist or does not belong to this account.", "NOT_FOUND")
    return user


def find_instance(req: Request, meeting_id: str) -> MeetingInstance:
    """An instance by UUID, or the latest instance of a numeric meeting id; reported ones only."""
    now = req.ctx.now
    found: MeetingInstance | None
    if meeting_id.isdigit():
        instances = req.account.instances_of_meeting(int(meeting_id), now)
        found = max(instances, key=lambda i: i.start_time) if instances else None
    else:
        found = req.account.instance(meeting_id, now)
    if found is None or found.report_ready_at > now:
        raise error(f"Meeting {meeting_id} not found or has expired.", "NOT_FOUND")
    return found


# ---- resolvers --------------------------------------------------------------------------------------


def resolve_users(_src: object, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    req: Request = info.context
    status = args.get("status")
    status = status.lower() if status else req.ctx.users_status
    fp = fingerprint("users", status)
    bounds = page_bounds(args, fp)
    charge(info, "medium")
    users = req.account.users(req.ctx.now, status=status)
    return connection(users, bounds, fp, user_item, "User", req)


def resolve_user(_src: object, info: GraphQLResolveInfo, *, userId: str) -> dict[str, Any]:
    req: Request = info.context
    charge(info, "light")
    return user_item(require_user(req, userId))


def meetings_of(user: User, info: GraphQLResolveInfo, args: dict[str, Any]) -> dict[str, Any]:
    """Shared by root ``meetings(userId)`` and ``User.meetings``: same fingerprint, so cursors carry over."""
    req: Request = info.context
    now = req.ctx.now
    kind = args["meetingType"]
    if kind == "PREVIOUS_MEETINGS":
        start, end = window(args, now, recent=True)
        fp = fingerprint("meetings", user.id, kind, start, end)
        bounds = page_bounds(args, fp)
        charge(info, "heavy")
        instances = req.account.instances_of_host(user.id, start, end, now, reported_only=True)
        return connection(instances, bounds, fp, lambda i: instance_item(i, user), "Meeting", req)
    fp = fingerprint("meetings", user.id, kind)
    bounds = page_bounds(args, fp)
    charge(info, "medium")
    meetings = req.account.scheduled_meetings(user.id, now)
    if kind == "UPCOMING":
        upcoming = []
        for m in meetings:
            nxt = min((t for t in (m.start_time, *m.occurrences) if t >= now), default=None)
            if nxt is not None:
                upcoming.append((m, nxt))
        return connection(upcoming, bounds, fp, lambda pair: scheduled_item(*pair), "Meeting", req)
    return connection(meetings, bounds, fp, scheduled_item, "Meeting", req)


def resolve_meetings(_src: object, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return meetings_of(require_user(info.context, args["userId"]), info, args)


def resolve_user_meetings(src: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return meetings_of(src["_src"], info, args)


def resolve_user_recordings(src: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    req: Request = info.context
    user: User = src["_src"]
    start, end = window(args, req.ctx.now, recent=False)
    fp = fingerprint("recordings", user.id, start, end)
    bounds = page_bounds(args, fp)
    charge(info, "medium")
    recordings = req.account.recordings(user.id, start, end, req.ctx.now)
    return connection(recordings, bounds, fp, recording_item, "Recording", req)


def resolve_user_webinars(src: dict[str, Any], info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    req: Request = info.context
    user: User = src["_src"]
    fp = fingerprint("webinars", user.id)
    bounds = page_bounds(args, fp)
    charge(info, "medium")
    return connection(req.account.webinars(user.id, req.ctx.now), bounds, fp, webinar_item, "Webinar", req)


def resolve_profile(src: dict[str, Any], _info: GraphQLResolveInfo) -> dict[str, Any]:
    """Part of the Get user call (Zoom charges ``user``, not ``profile``)."""
    u: User = src["_src"]
    return {
        "id": u.id,
        "email": u.email,
        "employeeUniqueId": u.employee_unique_id,
        "firstName": u.first_name,
        "lastName": u.last_name,
        "role": {"id": u.role_id, "name": ROLE_NAMES.get(u.role_id, "Custom")},
    }


def resolve_past_meeting(_src: object, info: GraphQLResolveInfo, *, meetingUUID: str) -> dict[str, Any]:
    req: Request = info.context
    charge(info, "light")
    instance = req.account.instance(meetingUUID, req.ctx.now)
    if instance is None:
        raise error(f"Meeting {meetingUUID} not found or has expired.", "NOT_FOUND")
    return instance_item(instance, req.host(instance.host_id))


def participants_of(
    instance: MeetingInstance, info: GraphQLResolveInfo, args: dict[str, Any]
) -> dict[str, Any]:
    req: Request = info.context
    if instance.start_time < req.ctx.now - YEAR:  # REST: 12702 "Can not access meeting a year ago."
        raise error(f"Meeting {instance.uuid} is older than a year.", "NOT_FOUND")
    fp = fingerprint("participants", instance.uuid)
    bounds = page_bounds(args, fp)
    charge(info, "heavy")
    rows = req.account.participants(instance, req.ctx.now)
    return connection(rows, bounds, fp, participant_item, "Participant", req)


def resolve_participant_reports(_src: object, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    return participants_of(find_instance(info.context, args["meetingId"]), info, args)


def resolve_meeting_participants(
    src: dict[str, Any], info: GraphQLResolveInfo, **args: Any
) -> dict[str, Any] | None:
    """Past instances only; a scheduled meeting has no participants (null, nothing charged)."""
    instance = src.get("_src")
    if not isinstance(instance, MeetingInstance):
        return None
    req: Request = info.context
    if instance.report_ready_at > req.ctx.now:
        raise error(f"Meeting {instance.uuid} not found or has expired.", "NOT_FOUND")
    return participants_of(instance, info, args)


_LAZY = object()


def resolve_total_minutes(src: dict[str, Any], info: GraphQLResolveInfo) -> int | None:
    """Sum of all participants' minutes, as Zoom's report counts it; computed only when selected."""
    value = src.get("totalMinutes", _LAZY)  # a drifted or faulty item answers for itself
    if value is not _LAZY:
        return value
    instance = src.get("_src")
    if not isinstance(instance, MeetingInstance):
        return None
    req: Request = info.context
    seconds = sum(p.duration for p in req.account.participants(instance, req.ctx.now))
    return seconds // 60  # as REST's reports count it (whole minutes, rounded down)


def resolve_daily_report(_src: object, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
    req: Request = info.context
    year, month = args["year"], args["month"]
    if not 1 <= month <= 12:
        raise error(f"Argument 'month' must be 1-12, got {month}.", "BAD_USER_INPUT")
    today = req.ctx.now.date()
    oldest = add_months(today.replace(day=1), -RECENT_MONTHS)
    if not (oldest.year, oldest.month) <= (year, month) <= (today.year, today.month):
        raise error("Only provide report in recent 6 months.", "BAD_USER_INPUT")
    fp = fingerprint("dailyReport", year, month)
    bounds = page_bounds(args, fp)
    charge(info, "heavy")
    days = req.account.daily_usage(year, month, req.ctx.now)
    return connection(days, bounds, fp, daily_item, "DailyUsage", req)


RESOLVERS: dict[tuple[str, str], Callable[..., Any]] = {
    ("Query", "users"): resolve_users,
    ("Query", "user"): resolve_user,
    ("Query", "meetings"): resolve_meetings,
    ("Query", "pastMeetingByUUID"): resolve_past_meeting,
    ("Query", "meetingParticipantReports"): resolve_participant_reports,
    ("Query", "dailyReport"): resolve_daily_report,
    ("User", "meetings"): resolve_user_meetings,
    ("User", "recordings"): resolve_user_recordings,
    ("User", "webinars"): resolve_user_webinars,
    ("User", "profile"): resolve_profile,
    ("Meeting", "participants"): resolve_meeting_participants,
    ("Meeting", "totalMinutes"): resolve_total_minutes,
}
"""(type, field) -> resolver; every other field is read from the item dict by the default resolver."""
