"""Dashboard endpoints (``/metrics/...``): Business plans and up; durations as ``"mm:ss"`` strings.

The dashboard lists every ended meeting, including those with a single participant that the report
endpoints leave out; its quality fields are drawn from a per-row seed so they replay identically.
"""

from __future__ import annotations

from random import Random

from etl.simulator.model import MeetingInstance, Participant
from etl.simulator.rest.common import (
    Request,
    clock_duration,
    envelope,
    full_name,
    iso,
    meeting_instance,
    window,
)
from etl.simulator.rest.errors import ApiError

DASHBOARD_PLANS = ("business", "enterprise")
QUALITY = ("good", "good", "good", "fair", "poor")
DEVICES = ("Windows", "Mac", "iOS", "Android")
NETWORKS = ("Wired", "Wifi", "Cellular")
LEAVE_REASONS = (
    "$name left the meeting.",
    "Host ended the meeting.",
    "$name got disconnected from the meeting.",
)


def _require_dashboard(req: Request) -> None:
    if req.plan not in DASHBOARD_PLANS:
        raise ApiError(
            400, 200, "No permission. The dashboard API is only available on Business plans and up."
        )


def _meeting_item(req: Request, i: MeetingInstance) -> dict[str, object]:
    host = req.account.user(i.host_id, req.now)
    bits = i.seed  # the instance's own seed: quality flags replay without seeding an RNG per row
    seconds = int((i.end_time - i.start_time).total_seconds())
    return {
        "uuid": i.uuid,
        "id": i.id,
        "topic": i.topic,
        "host": full_name(host) if host else "",
        "email": host.email if host else "",
        "user_type": ("Licensed" if host.type == 2 else "Basic") if host else "Basic",
        "start_time": iso(i.start_time),
        "end_time": iso(i.end_time),
        "duration": clock_duration(seconds),
        "participants": i.participants_count,
        "has_pstn": False,
        "has_voip": True,
        "has_3rd_party_audio": False,
        "has_video": bits % 5 != 0,
        "has_screen_share": i.has_screen_share,
        "has_recording": i.has_recording,
        "has_sip": False,
        "has_archiving": False,
        "in_room_participants": 0,
        "audio_quality": QUALITY[(bits >> 8) % len(QUALITY)],
        "video_quality": QUALITY[(bits >> 16) % len(QUALITY)],
        "screen_share_quality": QUALITY[(bits >> 24) % len(QUALITY)] if i.has_screen_share else "good",
        "dept": host.dept if host else "",
    }


def list_meetings(req: Request) -> tuple[int, dict]:
    _require_dashboard(req)
    w = window(req)
    kind = req.query.get("type", "") or "live"
    if kind not in ("live", "past", "pastOne"):
        raise ApiError(400, 300, f"Invalid field: type {kind!r}; expected live, past or pastOne.")
    found: list[MeetingInstance] = []
    if kind != "live":  # nothing is ever in progress in the simulator
        found = req.account.instances_in_window(w.start, w.end, req.now, reported_only=False)
        if kind == "pastOne":
            found = [i for i in found if i.participants_count == 1]
    page = req.page(found)
    items = [_meeting_item(req, i) for i in page.items]
    return 200, {"from": w.first.isoformat(), "to": w.last.isoformat(), **envelope(page, "meetings", items)}


def _participant_item(i: MeetingInstance, p: Participant) -> dict[str, object]:
    rng = Random(f"qos:{i.uuid}:{p.user_id}:{p.join_time.isoformat()}")
    device = rng.choice(DEVICES)
    return {
        "id": p.id,
        "user_id": p.user_id,
        "participant_user_id": p.participant_user_id,
        "user_name": p.name,
        "email": p.user_email,
        "role": "host" if p.id and p.id == i.host_id else "attendee",
        "device": device,
        "ip_address": f"192.0.2.{rng.randrange(1, 255)}",
        "location": rng.choice(("United States", "Germany", "Japan", "United Kingdom")),
        "network_type": rng.choice(NETWORKS),
        "data_center": "United States (SC Top)",
        "full_data_center": "United States (SC Top);",
        "connection_type": rng.choice(("UDP", "TCP", "SSL")),
        "join_time": iso(p.join_time),
        "leave_time": iso(p.leave_time),
        "leave_reason": rng.choice(LEAVE_REASONS),
        "share_application": False,
        "share_desktop": rng.random() < 0.2,
        "share_whiteboard": False,
        "recording": False,
        "pc_name": f"PC-{rng.randrange(10_000):04d}",
        "version": rng.choice(("5.17.11.34827", "6.0.2.37941", "6.1.1.42212")),
        "audio_quality": rng.choice(QUALITY),
        "video_quality": rng.choice(QUALITY),
        "screen_share_quality": "",
        "customer_key": p.customer_key,
        "registrant_id": p.registrant_id,
        "status": p.status,
        "in_room_participants": 0,
    }


def meeting_participants(req: Request) -> tuple[int, dict]:
    _require_dashboard(req)
    kind = req.query.get("type", "") or "live"
    if kind not in ("live", "past", "pastOne"):
        raise ApiError(400, 300, f"Invalid field: type {kind!r}; expected live, past or pastOne.")
    if kind == "live":  # every simulated meeting has ended: Zoom finds no live meeting with this id
        raise ApiError(404, 3001, f"Meeting {req.params['meetingId']} not found or has expired.")
    i = meeting_instance(req)
    page = req.page(req.account.participants(i, req.now))
    items = [_participant_item(i, p) for p in page.items]
    return 200, envelope(page, "participants", items)
