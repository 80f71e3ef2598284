"""Meeting definitions and past meetings: ``/users/{id}/meetings``, ``/meetings/{id}``, ``/past_meetings``."""

from __future__ import annotations

from datetime import timedelta

from etl.simulator.model import Meeting, MeetingInstance, Participant
from etl.simulator.rest.common import (
    Request,
    envelope,
    full_name,
    iso,
    meeting_at,
    meeting_definition,
    meeting_instance,
    numeric_id,
    parse_day,
    start_of,
    user,
)
from etl.simulator.rest.errors import ApiError

LIST_TYPES = ("scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings")


def meeting_item(m: Meeting) -> dict[str, object]:
    return {
        "uuid": m.uuid,
        "id": m.id,
        "host_id": m.host_id,
        "topic": m.topic,
        "type": m.type,
        "start_time": iso(m.start_time),
        "duration": m.duration,
        "timezone": m.timezone,
        "agenda": m.agenda,
        "created_at": iso(m.created_at),
        "join_url": m.join_url,
    }


def _previous_item(i: MeetingInstance) -> dict[str, object]:
    return {
        "uuid": i.uuid,
        "id": i.id,
        "host_id": i.host_id,
        "topic": i.topic,
        "type": i.type if i.type in (1, 2, 3, 8) else 2,
        "start_time": iso(i.start_time),
        "duration": i.duration,
        "timezone": "UTC",
        "created_at": iso(i.start_time),
        "join_url": f"https://zoom.us/j/{i.id}",
    }


def _next_start(m: Meeting, req: Request) -> bool:
    starts = m.occurrences or (m.start_time,)
    return any(s >= req.now for s in starts)


def list_meetings(req: Request) -> tuple[int, dict]:
    host = user(req)
    kind = req.query.get("type", "") or "scheduled"
    if kind not in LIST_TYPES:
        raise ApiError(400, 300, f"Invalid field: type {kind!r}; expected one of {', '.join(LIST_TYPES)}.")
    if kind == "previous_meetings":
        raw_from, raw_to = req.query.get("from", ""), req.query.get("to", "")
        first = parse_day(raw_from, "from") if raw_from else (req.now - timedelta(days=365)).date()
        last = parse_day(raw_to, "to") if raw_to else req.now.date()
        start, end = start_of(first), start_of(last) + timedelta(days=1)
        past = req.page(req.account.instances_of_host(host.id, start, end, req.now, reported_only=False))
        return 200, envelope(past, "meetings", [_previous_item(i) for i in past.items], legacy=True)
    meetings = [meeting_at(m, req.now) for m in req.account.scheduled_meetings(host.id, req.now)]
    if kind == "live":
        meetings = []
    elif kind in ("upcoming", "upcoming_meetings"):
        meetings = [m for m in meetings if _next_start(m, req)]
    page = req.page(meetings)
    return 200, envelope(page, "meetings", [meeting_item(m) for m in page.items], legacy=True)


def get_meeting(req: Request) -> tuple[int, dict]:
    m = meeting_at(meeting_definition(req), req.now)
    host = req.account.user(m.host_id, req.now)
    body = meeting_item(m)
    if host is not None:
        body["host_email"] = host.email
    body["status"] = "waiting"
    body["pre_schedule"] = False
    if m.occurrences:
        body["occurrences"] = [
            {
                "occurrence_id": str(int(s.timestamp() * 1000)),
                "start_time": iso(s),
                "duration": m.duration,
                "status": "available",
            }
            for s in m.occurrences
        ]
    return 200, body


def instance_details(req: Request, i: MeetingInstance, *, report: bool) -> dict[str, object]:
    """``/past_meetings/{id}`` and ``/report/meetings/{id}``: the same facts, slightly different fields."""
    host = req.account.user(i.host_id, req.now)
    segments = req.account.participants(i, req.now)
    body: dict[str, object] = {"uuid": i.uuid, "id": i.id}
    if not report:
        body["host_id"] = i.host_id
    body.update(
        {
            "type": i.type,
            "topic": i.topic,
            "user_name": full_name(host) if host else "",
            "user_email": host.email if host else "",
            "start_time": iso(i.start_time),
            "end_time": iso(i.end_time),
            "duration": i.duration,
            "total_minutes": sum(p.duration for p in segments) // 60,
            "participants_count": i.participants_count,
            "dept": host.dept if host else "",
        }
    )
    if not report:
        body["source"] = "Zoom"
    return body


def past_meeting(req: Request) -> tuple[int, dict]:
    return 200, instance_details(req, meeting_instance(req), report=False)


def past_participant_item(p: Participant) -> dict[str, object]:
    item: dict[str, object] = {
        "id": p.id,
        "name": p.name,
        "user_id": p.user_id,
        "user_email": p.user_email,
        "join_time": iso(p.join_time),
        "leave_time": iso(p.leave_time),
        "duration": p.duration,
        "failover": p.failover,
        "status": p.status,
    }
    if p.registrant_id:
        item["registrant_id"] = p.registrant_id
    return item


def past_participants(req: Request) -> tuple[int, dict]:
    i = meeting_instance(req)
    # Zoom lists nobody for a meeting that only ever had one participant.
    segments = req.account.participants(i, req.now) if i.participants_count >= 2 else []
    page = req.page(segments)
    items = [past_participant_item(p) for p in page.items]
    return 200, envelope(page, "participants", items)


def past_instances(req: Request) -> tuple[int, dict]:
    meeting_id = numeric_id(req, "meetingId")
    found = req.account.instances_of_meeting(meeting_id, req.now)
    if not found and req.account.meeting(meeting_id, req.now) is None:
        raise ApiError(404, 3001, f"Meeting {meeting_id} not found or has expired.")
    recent = [i for i in found if i.start_time >= req.now - timedelta(days=365)]
    return 200, {"meetings": [{"uuid": i.uuid, "start_time": iso(i.start_time)} for i in recent]}
