"""What every REST handler shares: the request it is handed, Zoom's time formats, windows and lookups.

Zoom mixes time formats and the simulator reproduces them: ISO ``2022-03-23T06:58:09Z`` almost everywhere,
``2019-02-01T12:34:12.660Z`` in webinar participant reports, ``12/22/2021 16:20`` in the per-user report
meeting list, and ``"55:01"`` / ``"1:02:03"`` durations in the dashboard.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from etl.simulator.model import (
    Account,
    Meeting,
    MeetingInstance,
    Participant,
    Registrant,
    User,
    Webinar,
    WebinarInstance,
)
from etl.simulator.rest.errors import ApiError
from etl.simulator.rest.paging import Page, PageTokens, paginate, query_key, refuse_above

T = TypeVar("T")
YEAR = timedelta(days=365)
RECENT_MONTHS = 6


@dataclass(slots=True)
class Request:
    """One REST call as a handler sees it: decoded path parameters, query, and the account at ``now``."""

    template: str
    params: dict[str, str]
    query: dict[str, str]
    now: datetime
    account: Account
    tokens: PageTokens
    plan: str
    extra: dict[str, object] = field(default_factory=dict)
    page_cap: int = 0  # a lower page-size cap than Zoom's (0: none), so small accounts page too
    max_page: int = 0  # the OpenAPI file's page_size maximum: a larger page_size is refused (0: capped)
    page_number: bool = False  # the OpenAPI file still lists ``page_number`` for this operation
    pending_lookup: Callable[[str], int] = lambda _email: 0  # a failing pending user's lookup: its code

    def page(self, items: Sequence[T], *, maximum: int = 300, default: int = 30) -> Page[T]:
        key = query_key(self.template, self.params, self.query)
        if self.max_page:
            refuse_above(self.query, self.max_page)
        if self.page_cap:
            maximum, default = min(maximum, self.page_cap), min(default, self.page_cap)
        return paginate(
            self.tokens,
            key,
            self.query,
            items,
            maximum=maximum,
            default=default,
            page_number=self.page_number,
        )


def envelope(page: Page[Any], list_key: str, items: list[dict], *, legacy: bool = False) -> dict[str, object]:
    """Zoom's standard list envelope; ``legacy`` adds ``page_number`` where the endpoint still has it."""
    body: dict[str, object] = {"next_page_token": page.next_page_token, "page_count": page.page_count}
    if legacy:
        body["page_number"] = page.page_number
    body["page_size"] = page.page_size
    body["total_records"] = page.total_records
    body[list_key] = items
    return body


# ---- time formats --------------------------------------------------------------------------------


def iso(dt: datetime) -> str:
    """``2022-03-23T06:58:09Z`` (``dt`` is UTC, as every model time is; ``isoformat`` is the fast path)."""
    return dt.isoformat(timespec="seconds")[:19] + "Z"


def iso_ms(dt: datetime) -> str:
    """``2019-02-01T12:34:12.660Z`` (webinar participant reports)."""
    return dt.isoformat(timespec="milliseconds")[:23] + "Z"


def mdy(dt: datetime) -> str:
    """``12/22/2021 16:20`` (the per-user report meeting list)."""
    return f"{dt.month:02d}/{dt.day:02d}/{dt.year:04d} {dt.hour:02d}:{dt.minute:02d}"


def clock_duration(seconds: int) -> str:
    """Dashboard durations: ``"55:01"`` below an hour, ``"1:02:03"`` from an hour on."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


# ---- windows -------------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """Calendar month arithmetic, clamping the day (Mar 31 - 1 month = Feb 28/29)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def parse_day(raw: str, name: str) -> date:
    """``yyyy-mm-dd`` (the dashboard also accepts ``yyyy-mm-dd HH:MM:SS``; the time part is ignored)."""
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        raise ApiError(400, 300, f"Invalid field: {name} must be a date in yyyy-mm-dd format.") from None


def start_of(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """An inclusive ``from``..``to`` day range and the half-open UTC interval it covers."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return start_of(self.first)

    @property
    def end(self) -> datetime:
        return start_of(self.last) + timedelta(days=1)


def window(
    req: Request,
    *,
    required: bool = True,
    recent: bool = True,
    default_days: int = 0,
) -> Window:
    """Zoom's report windows: ``from``/``to`` a month apart at most; if ``recent``, in the last 6 months."""
    today = req.now.date()
    raw_from, raw_to = req.query.get("from", ""), req.query.get("to", "")
    if required and not raw_from:
        raise ApiError(400, 300, "The from field is required.")
    if required and not raw_to:
        raise ApiError(400, 300, "The to field is required.")
    last = parse_day(raw_to, "to") if raw_to else today
    first = parse_day(raw_from, "from") if raw_from else last - timedelta(days=default_days)
    if last < first:
        raise ApiError(400, 300, "The to date must be later than the from date.")
    if last > add_months(first, 1):
        raise ApiError(400, 300, "The date range must be within one month.")
    if recent and first < add_months(today, -RECENT_MONTHS):
        raise ApiError(400, 300, "Only provide report in recent 6 months.")
    return Window(first, last)


# ---- lookups -------------------------------------------------------------------------------------


def user(req: Request) -> User:
    """The path's ``userId`` (id or email). ``me`` is refused: these are Server-to-Server (account) tokens."""
    user_id = req.params["userId"]
    if user_id == "me":
        raise ApiError(
            400,
            200,
            'No permission. "me" is not supported for Server-to-Server OAuth tokens: '
            "pass a user id or email.",
        )
    found = req.account.user(user_id, req.now)
    if found is None:
        raise ApiError(404, 1001, f"User {user_id} not exist or not belong to this account.")
    return found


def _too_old(start: datetime, now: datetime, what: str) -> None:
    if start < now - YEAR:
        raise ApiError(400, 12702, f"Can not access {what} a year ago.")


def meeting_instance(req: Request, *, reported: bool = False) -> MeetingInstance:
    """The path's ``meetingId``: a uuid, or a numeric id meaning its latest ended instance.

    ``reported`` hides instances whose report data has not arrived yet, as Zoom's report endpoints do.
    """
    raw = req.params["meetingId"]
    found: MeetingInstance | None
    if raw.isdigit():
        candidates = [
            i
            for i in req.account.instances_of_meeting(int(raw), req.now)
            if not reported or i.report_ready_at <= req.now
        ]
        found = max(candidates, key=lambda i: i.start_time) if candidates else None
    else:
        found = req.account.instance(raw, req.now)
        if found is not None and reported and found.report_ready_at > req.now:
            found = None
    if found is None:
        raise ApiError(404, 3001, f"Meeting {raw} not found or has expired.")
    _too_old(found.start_time, req.now, "meeting")
    return found


def webinar_instance(req: Request, *, reported: bool = False) -> WebinarInstance:
    """The path's ``webinarId``: a uuid, or a numeric id meaning its latest ended instance."""
    raw = req.params["webinarId"]
    found: WebinarInstance | None
    if raw.isdigit():
        candidates = [
            i
            for i in req.account.webinar_instances_of(int(raw), req.now)
            if not reported or i.report_ready_at <= req.now
        ]
        found = max(candidates, key=lambda i: i.start_time) if candidates else None
    else:
        found = req.account.webinar_instance(raw, req.now)
        if found is not None and reported and found.report_ready_at > req.now:
            found = None
    if found is None:
        raise ApiError(404, 3001, f"Webinar {raw} not found or has expired.")
    _too_old(found.start_time, req.now, "webinar")
    return found


def registrant_item(r: Registrant, join_url: str) -> dict[str, object]:
    """A registrant as Zoom's registrant and absentee listings give one; ``join_url`` is its meeting's."""
    return {
        "id": r.id,
        "email": r.email,
        "first_name": r.first_name,
        "last_name": r.last_name,
        "status": r.status,
        "create_time": iso(r.create_time),
        "join_url": f"{join_url}?tk={r.id}",
    }


def meeting_definition(req: Request) -> Meeting:
    """The scheduled meeting named by the path's numeric ``meetingId`` (3001 when there is none)."""
    meeting_id = numeric_id(req, "meetingId")
    found = req.account.meeting(meeting_id, req.now)
    if found is None:
        raise ApiError(404, 3001, f"Meeting {meeting_id} is not found or has expired.")
    return found


def webinar_definition(req: Request) -> Webinar:
    """The webinar named by the path's numeric ``webinarId`` (3001 when there is none)."""
    webinar_id = numeric_id(req, "webinarId")
    found = req.account.webinar(webinar_id, req.now)
    if found is None:
        raise ApiError(404, 3001, f"Webinar {webinar_id} not found or has expired.")
    return found


def numeric_id(req: Request, name: str) -> int:
    raw = req.params[name]
    if not raw.isdigit():
        what = "Webinar" if name == "webinarId" else "Meeting"
        raise ApiError(404, 3001, f"{what} {raw} not found or has expired.")
    return int(raw)


def meeting_at(meeting: Meeting, now: datetime) -> Meeting:
    """A definition with the edits (topic, agenda, duration...) made up to ``now`` applied."""
    values: dict[str, object] = {}
    for update in meeting.updates:
        if update.at <= now:
            values.update(update.changes)
    if not values:
        return meeting
    return replace(meeting, **values)  # type: ignore[arg-type]


def full_name(u: User) -> str:
    return u.display_name or f"{u.first_name} {u.last_name}".strip()


def report_participant_item(
    p: Participant, *, registrant: bool, stamp: Callable[[datetime], str] = iso
) -> dict[str, object]:
    """One item of a participants report; meeting reports stamp times as ``...Z``, webinar reports with
    milliseconds (``stamp=iso_ms``), as Zoom does."""
    item: dict[str, object] = {
        "id": p.id,
        "user_id": p.user_id,
        "participant_user_id": p.participant_user_id,
        "name": p.name,
        "user_email": p.user_email,
        "join_time": stamp(p.join_time),
        "leave_time": stamp(p.leave_time),
        "duration": p.duration,
        "failover": p.failover,
        "status": p.status,
        "customer_key": p.customer_key,
    }
    if p.bo_mtg_id:
        item["bo_mtg_id"] = p.bo_mtg_id
    if registrant and p.registrant_id:
        item["registrant_id"] = p.registrant_id
    return item
