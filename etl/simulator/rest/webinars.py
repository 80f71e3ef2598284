"""Webinars: definitions, past instances, participants, absentees and the webinar reports."""

from __future__ import annotations

from etl.simulator.model import Webinar, WebinarInstance
from etl.simulator.rest.common import (
    RECENT_MONTHS,
    Request,
    add_months,
    envelope,
    full_name,
    iso,
    iso_ms,
    numeric_id,
    registrant_item,
    report_participant_item,
    user,
    webinar_definition,
    webinar_instance,
)
from etl.simulator.rest.errors import ApiError
from etl.simulator.rest.meetings import past_participant_item

LIST_TYPES = ("scheduled", "upcoming")


def webinar_item(w: Webinar) -> dict[str, object]:
    return {
        "uuid": w.uuid,
        "id": w.id,
        "host_id": w.host_id,
        "topic": w.topic,
        "type": w.type,
        "start_time": iso(w.start_time),
        "duration": w.duration,
        "timezone": w.timezone,
        "agenda": w.agenda,
        "created_at": iso(w.created_at),
        "join_url": w.join_url,
        "is_simulive": False,
    }


def list_webinars(req: Request) -> tuple[int, dict]:
    host = user(req)
    kind = req.query.get("type", "") or "scheduled"
    if kind not in LIST_TYPES:
        raise ApiError(400, 300, f"Invalid field: type {kind!r}; expected scheduled or upcoming.")
    found = req.account.webinars(host.id, req.now)
    if kind == "upcoming":
        found = [w for w in found if any(s >= req.now for s in (w.occurrences or (w.start_time,)))]
    page = req.page(found)
    items = [webinar_item(w) for w in page.items]
    return 200, envelope(page, "webinars", items, legacy=True)


def get_webinar(req: Request) -> tuple[int, dict]:
    found = webinar_definition(req)
    body = webinar_item(found)
    host = req.account.user(found.host_id, req.now)
    if host is not None:
        body["host_email"] = host.email
    return 200, body


def past_instances(req: Request) -> tuple[int, dict]:
    webinar_id = numeric_id(req, "webinarId")
    found = req.account.webinar_instances_of(webinar_id, req.now)
    if not found and req.account.webinar(webinar_id, req.now) is None:
        raise ApiError(404, 3001, f"Webinar {webinar_id} not found or has expired.")
    return 200, {"webinars": [{"uuid": i.uuid, "start_time": iso(i.start_time)} for i in found]}


def past_participants(req: Request) -> tuple[int, dict]:
    i = webinar_instance(req)
    page = req.page(req.account.webinar_participants(i, req.now))
    items = [past_participant_item(p) for p in page.items]
    return 200, envelope(page, "participants", items)


def absentees(req: Request) -> tuple[int, dict]:
    i = webinar_instance(req)
    missing = [r for r in req.account.webinar_registrants(i, req.now) if not r.attended]
    page = req.page(missing)
    items = [registrant_item(r, f"https://zoom.us/w/{i.id}") for r in page.items]
    return 200, envelope(page, "registrants", items, legacy=True)


def _details(req: Request, i: WebinarInstance) -> dict[str, object]:
    host = req.account.user(i.host_id, req.now)
    segments = req.account.webinar_participants(i, req.now)
    return {
        "uuid": i.uuid,
        "id": i.id,
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


def report_details(req: Request) -> tuple[int, dict]:
    return 200, _details(req, webinar_instance(req, reported=True))


def report_participants(req: Request) -> tuple[int, dict]:
    i = webinar_instance(req, reported=True)
    # Zoom's OpenAPI file: "You can get webinar participant reports for the last 6 months."
    if i.start_time.date() < add_months(req.now.date(), -RECENT_MONTHS):
        raise ApiError(400, 12702, "Can not access webinar participant reports older than 6 months.")
    registrant = "registrant_id" in req.query.get("include_fields", "")
    page = req.page(req.account.webinar_participants(i, req.now))
    items = [report_participant_item(p, registrant=registrant, stamp=iso_ms) for p in page.items]
    return 200, envelope(page, "participants", items)
