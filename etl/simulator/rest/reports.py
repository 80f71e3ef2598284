"""Report endpoints (``/report/...``, all Heavy): windows of at most a month within the last six months."""

from __future__ import annotations

from collections import defaultdict

from etl.simulator.model import MeetingInstance, User, WebinarInstance
from etl.simulator.rest.common import (
    RECENT_MONTHS,
    Request,
    Window,
    add_months,
    envelope,
    full_name,
    iso,
    mdy,
    meeting_instance,
    report_participant_item,
    start_of,
    user,
    window,
)
from etl.simulator.rest.errors import ApiError
from etl.simulator.rest.meetings import instance_details

REPORT_TYPES = ("past", "pastOne", "pastJoined")
OPERATION_CATEGORIES = [
    "all",
    "user",
    "user_settings",
    "account",
    "billing",
    "im",
    "recording",
    "phone_contacts",
    "webinar",
    "sub_account",
    "role",
    "zoom_rooms",
]


def windowed(body: dict[str, object], w: Window) -> dict[str, object]:
    """Put ``from`` and ``to`` first, as Zoom's windowed envelopes do."""
    return {"from": w.first.isoformat(), "to": w.last.isoformat(), **body}


def _report_meeting_item(req: Request, i: MeetingInstance | WebinarInstance, host: User) -> dict[str, object]:
    """One item of the meeting report; a webinar (type 5, 6 or 9) has no screen share or recording flags."""
    if isinstance(i, MeetingInstance):
        segments = req.account.participants(i, req.now)
        screen_share, recording = i.has_screen_share, i.has_recording
    else:
        segments = req.account.webinar_participants(i, req.now)
        screen_share = recording = False
    return {
        "uuid": i.uuid,
        "id": i.id,
        "type": i.type,
        "topic": i.topic,
        "user_name": full_name(host),
        "user_email": host.email,
        "host_name": full_name(host),
        "start_time": iso(i.start_time),
        "end_time": iso(i.end_time),
        "duration": i.duration,
        "total_minutes": sum(p.duration for p in segments) // 60,
        "participants_count": i.participants_count,
        "participants_count_my_account": len({p.id for p in segments if p.id}),
        "source": "Zoom",
        "schedule_time": mdy(i.start_time),
        "join_time": mdy(i.start_time),
        "leave_time": mdy(i.end_time),
        "has_screen_share": screen_share,
        "has_recording": recording,
        "has_chat": False,
        "meeting_encryption_status": 1,
    }


def user_meetings(req: Request) -> tuple[int, dict]:
    host = user(req)
    w = window(req)
    kind = req.query.get("type", "") or "past"
    if kind not in REPORT_TYPES:
        raise ApiError(400, 300, f"Invalid field: type {kind!r}; expected one of {', '.join(REPORT_TYPES)}.")
    found: list[MeetingInstance | WebinarInstance]
    if kind == "pastJoined":
        found = [
            i
            for i in req.account.instances_in_window(w.start, w.end, req.now, reported_only=True)
            if any(p.id == host.id for p in req.account.participants(i, req.now))
        ]
    else:
        # "Past meetings and webinars" (Zoom's OpenAPI): the host's webinars are listed too, by start time.
        found = [
            *req.account.instances_of_host(host.id, w.start, w.end, req.now, reported_only=True),
            *req.account.webinar_instances_of_host(host.id, w.start, w.end, req.now, reported_only=True),
        ]
        found.sort(key=lambda i: (i.start_time, i.uuid))
        # Zoom's report lists only meetings with two or more participants (pastOne: only the others).
        found = [i for i in found if (i.participants_count >= 2) == (kind == "past")]
    page = req.page(found)
    items = []
    for i in page.items:
        owner = host if i.host_id == host.id else (req.account.user(i.host_id, req.now) or host)
        items.append(_report_meeting_item(req, i, owner))
    return 200, windowed(envelope(page, "meetings", items), w)


def meeting_details(req: Request) -> tuple[int, dict]:
    return 200, instance_details(req, meeting_instance(req, reported=True), report=True)


def meeting_participants(req: Request) -> tuple[int, dict]:
    i = meeting_instance(req, reported=True)
    registrant = "registrant_id" in req.query.get("include_fields", "")
    page = req.page(req.account.participants(i, req.now))
    items = [report_participant_item(p, registrant=registrant) for p in page.items]
    return 200, envelope(page, "participants", items)


def daily(req: Request) -> tuple[int, dict]:
    today = req.now.date()
    try:
        year = int(req.query.get("year") or today.year)
        month = int(req.query.get("month") or today.month)
    except ValueError:
        raise ApiError(400, 300, "Invalid field: year and month must be integers.") from None
    if not 1 <= month <= 12:
        raise ApiError(400, 300, f"Invalid field: month {month}.")
    oldest = add_months(today.replace(day=1), -RECENT_MONTHS)
    if not (oldest.year, oldest.month) <= (year, month) <= (today.year, today.month):
        raise ApiError(400, 300, "Only provide report in recent 6 months.")
    dates = [
        {
            "date": d.date.isoformat(),
            "new_users": d.new_users,
            "meetings": d.meetings,
            "participants": d.participants,
            "meeting_minutes": d.meeting_minutes,
        }
        for d in req.account.daily_usage(year, month, req.now)
    ]
    return 200, {"year": year, "month": month, "dates": dates}


def active_users(req: Request) -> tuple[int, dict]:
    """``/report/users``: per-host totals in the window (``type=inactive``: active users who hosted none)."""
    w = window(req)
    kind = req.query.get("type", "") or "active"
    if kind not in ("active", "inactive"):
        raise ApiError(400, 300, f"Invalid field: type {kind!r}; expected active or inactive.")
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for i in req.account.instances_in_window(w.start, w.end, req.now, reported_only=True):
        entry = stats[i.host_id]
        entry[0] += 1
        entry[1] += i.participants_count
        entry[2] += i.duration
    if kind == "active":  # whoever hosted in the window, even if deactivated since
        chosen = [u for u in req.account.users(req.now, None) if u.id in stats]
    else:
        chosen = [u for u in req.account.users(req.now, "active") if u.id not in stats]
    page = req.page(chosen)
    items = []
    for u in page.items:
        assert isinstance(u, User)
        meetings, participants, minutes = stats.get(u.id, (0, 0, 0))
        items.append(
            {
                "id": u.id,
                "email": u.email,
                "user_name": full_name(u),
                "type": u.type,
                "dept": u.dept,
                "meetings": meetings,
                "participants": participants,
                "meeting_minutes": minutes,
            }
        )
    body = envelope(page, "users", items, legacy=True)
    listed = [stats[u.id] for u in chosen if u.id in stats]  # totals add up over the listed users
    body["total_meetings"] = sum(s[0] for s in listed)
    body["total_participants"] = sum(s[1] for s in listed)
    body["total_meeting_minutes"] = sum(s[2] for s in listed)
    return 200, windowed(body, w)


def activities(req: Request) -> tuple[int, dict]:
    w = window(req, required=False, default_days=28)
    page = req.page(req.account.sign_in_activity(w.start, w.end, req.now))
    logs = [
        {
            "email": a.email,
            "time": iso(a.time),
            "type": a.type,
            "ip_address": a.ip_address,
            "client_type": a.client_type,
            "version": a.version,
        }
        for a in page.items
    ]
    return 200, {
        "from": iso(start_of(w.first)),
        "to": iso(start_of(w.last)),
        "page_size": page.page_size,
        "next_page_token": page.next_page_token,
        "activity_logs": logs,
    }


def operation_logs(req: Request) -> tuple[int, dict]:
    w = window(req)
    category = req.query.get("category_type", "") or "all"
    if category not in OPERATION_CATEGORIES:
        raise ApiError(400, 300, f"Invalid field: category_type {category!r}.")
    found = req.account.operation_logs(w.start, w.end, req.now)
    if category != "all":
        found = [o for o in found if o.category_type.lower().replace(" ", "_") == category]
    page = req.page(found)
    logs = [
        {
            "time": iso(o.time),
            "operator": o.operator,
            "category_type": o.category_type,
            "action": o.action,
            "operation_detail": o.operation_detail,
        }
        for o in page.items
    ]
    return 200, {"page_size": page.page_size, "next_page_token": page.next_page_token, "operation_logs": logs}
