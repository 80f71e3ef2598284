"""AI Companion meeting summaries: ``GET /meetings/meeting_summaries`` (the account's, listed by creation
time) and ``GET /meetings/{meetingId}/meeting_summary`` (one meeting's).

Neither is in the OpenAPI file the repository keeps (a March 2024 revision); their fields are those of
Zoom's own SDK types (Rivet ``MeetingsGetMeetingSummaryResponse``, research notes §4):

- the listing: ``from`` / ``to`` (``yyyy-MM-ddTHH:mm:ssZ``, on the summary's creation time), ``page_size``
  (at most 300), ``next_page_token``; items ``meeting_host_id``, ``meeting_host_email``, ``meeting_uuid``,
  ``meeting_id``, ``meeting_topic``, ``meeting_start_time``, ``meeting_end_time``, ``summary_start_time``,
  ``summary_end_time``, ``summary_created_time``, ``summary_last_modified_time``;
- one summary: the same, plus ``summary_title``, ``summary_overview``, ``summary_details[] {label,
  summary}``, ``next_steps[]`` and ``summary_content`` (markdown).

Who has one: every ended instance whose host records (``has_recording``: licensed hosts with AI Companion
on), created ten minutes after the end. Pro or higher (the Free plan is refused as reports are), scope
``meeting_summary:read:admin`` (granular ``meeting:read:list_summaries:admin`` / ``meeting:read:summary``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from random import Random

from etl.simulator.model import MeetingInstance
from etl.simulator.rest.common import Request, iso, meeting_instance
from etl.simulator.rest.errors import ApiError

CREATED_AFTER = timedelta(minutes=10)
_POINTS = (
    (
        "Release status",
        "The release shipped on Thursday without a rollback; two minor incidents remain open.",
    ),
    ("Budget", "The team agreed the budget is tight and will revisit it next month."),
    ("Hiring", "Two offers are out and one was accepted."),
    ("Customer feedback", "Feedback on the new dashboard is mostly positive."),
)
_STEPS = ("Send the meeting notes by Friday.", "Close the two open incidents.", "Draft the budget review.")


def _when(req: Request, name: str) -> datetime | None:
    raw = req.query.get(name)
    if not raw:
        return None
    try:
        return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise ApiError(400, 300, f"Invalid field: {name} {raw!r} (yyyy-MM-ddTHH:mm:ssZ).") from None


def _paid(req: Request) -> None:
    if req.plan == "free":
        raise ApiError(400, 200, "Only available for paid account.")


def _has_summary(inst: MeetingInstance, now: datetime) -> bool:
    return inst.has_recording and inst.end_time + CREATED_AFTER <= now


def _item(req: Request, inst: MeetingInstance) -> dict[str, object]:
    host = req.account.user(inst.host_id, req.now)
    created = inst.end_time + CREATED_AFTER
    return {
        "meeting_host_id": inst.host_id,
        "meeting_host_email": host.email if host else "",
        "meeting_uuid": inst.uuid,
        "meeting_id": inst.id,
        "meeting_topic": inst.topic,
        "meeting_start_time": iso(inst.start_time),
        "meeting_end_time": iso(inst.end_time),
        "summary_start_time": iso(inst.start_time),
        "summary_end_time": iso(inst.end_time),
        "summary_created_time": iso(created),
        "summary_last_modified_time": iso(created),
    }


def list_summaries(req: Request) -> tuple[int, dict]:
    _paid(req)
    end = _when(req, "to") or req.now
    start = _when(req, "from") or end - timedelta(days=30)
    if start > end:
        raise ApiError(400, 300, "The from date must be before the to date.")
    found = req.account.instances_in_window(start - timedelta(days=2), end, req.now, reported_only=False)
    found = [i for i in found if _has_summary(i, req.now) and start <= i.end_time + CREATED_AFTER <= end]
    found.sort(key=lambda i: (i.end_time, i.uuid))
    page = req.page(found)
    return 200, {
        "page_size": page.page_size,
        "next_page_token": page.next_page_token,
        "from": iso(start),
        "to": iso(end),
        "summaries": [_item(req, i) for i in page.items],
    }


def get_summary(req: Request) -> tuple[int, dict]:
    _paid(req)
    inst = meeting_instance(req)
    if not _has_summary(inst, req.now):
        raise ApiError(404, 3001, "Meeting summary does not exist.")
    rng = Random(f"summary:{inst.seed}")
    points = rng.sample(_POINTS, rng.randint(1, len(_POINTS)))
    steps = rng.sample(_STEPS, rng.randint(0, len(_STEPS)))
    overview = f"The team met about {inst.topic!r}: " + " ".join(p[1] for p in points)
    content = "\n".join(
        [f"## {inst.topic}", "", overview, "", *(f"- **{label}**: {text}" for label, text in points)]
    )
    return 200, {
        **_item(req, inst),
        "summary_title": f"Meeting summary for {inst.topic}",
        "summary_overview": overview,
        "summary_details": [{"label": label, "summary": text} for label, text in points],
        "next_steps": steps,
        "summary_content": content,
    }
