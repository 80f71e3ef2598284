"""From spooled events to what a targeted sync fetches (``Targets``), and from the warehouse back to what
each event led to (its ``status`` in ``zoom.events``). Pure functions of their inputs.

- ``meeting.ended``: the host's meeting instances of that UTC day, and participants of the new ones
  (for a recurring meeting, types 3 and 8, the host's scheduled meetings too: their listing shows the
  latest instance); applied once the instance is in ``zoom.meeting_instances`` and its participants
  are done (``_etl.done_keys``).
- ``webinar.ended``, ``webinar.created/updated/deleted``: the host's webinars, their new instances'
  details, participants and absentees; ``webinar.ended`` is applied once the instance is loaded.
- ``recording.completed``: the host's recordings of that UTC day; applied once in ``zoom.recordings``.
- ``meeting.created/updated/deleted/recovered``: the host's scheduled meetings (the host looked up in
  ``zoom.meetings`` when the event names only the meeting id).
- ``user.*``: the users listing.
- anything else: nothing to fetch, recorded in ``zoom.events``.

An event not applied yet (Zoom's report is not ready when the meeting ends) stays ``pending`` in the spool
and is targeted again by the next sync, for ``pending_hours``; then it is ``expired`` and left to the
periodic full sync.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from etl.extract.events import Listing, Targets
from etl.webhooks.spool import Entry

EVENTS = "events"  # the table the events land in (zoom.events: a contract, not a stream)

# The streams each event touches (the mapping of Zoom's events to the registry lives here, not in
# etl.extract): a listing of the stream for the host, with the children of what it shows.
SCHEDULED = "meetings"  # meeting.created/updated/deleted/recovered; a recurring meeting.ended too
INSTANCES = "meeting_instances"  # meeting.ended, for the UTC day it started (participants follow)
PARTICIPANTS = "meeting_participants"  # a meeting.ended is applied once its participants are done too
RECORDINGS = "recordings"  # recording.completed, for the UTC day
WEBINARS = "webinars"  # webinar.*: their instances, details, participants, absentees, registrants

MEETING_CHANGES = ("meeting.created", "meeting.updated", "meeting.deleted", "meeting.recovered")
WEBINAR_EVENTS = (
    "webinar.ended",
    "webinar.created",
    "webinar.updated",
    "webinar.deleted",
    "webinar.recovered",
)
WAITS_FOR_DATA = {  # event -> (table, key column) that shows it applied
    "meeting.ended": (INSTANCES, "uuid"),
    "webinar.ended": ("webinar_instances", "uuid"),
    "recording.completed": ("recordings", "meeting_uuid"),
}
FINAL = ("applied", "expired", "recorded", "polled")


def obj_of(entry: Entry) -> Mapping[str, Any]:
    payload = entry.body.get("payload")
    obj = payload.get("object") if isinstance(payload, Mapping) else None
    return obj if isinstance(obj, Mapping) else {}


def account_of(entry: Entry) -> str:
    payload = entry.body.get("payload")
    return str(payload.get("account_id") or "") if isinstance(payload, Mapping) else ""


def _day(value: object) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).date()
    except ValueError:
        return None


def fetches_something(entry: Entry) -> bool:
    e = entry.event
    return e.startswith("user.") or e in (*MEETING_CHANGES, *WEBINAR_EVENTS, *WAITS_FOR_DATA)


def targets_for(
    entries: Iterable[Entry], *, hosts: Mapping[str, str], account_streams: bool = True
) -> Targets:
    """What to fetch for ``entries``; ``hosts`` maps meeting and webinar ids to their hosts (for events
    that only name the id, as ``meeting.updated`` does)."""
    users = False
    listings: set[Listing] = set()
    for entry in entries:
        obj = obj_of(entry)
        host = str(obj.get("host_id") or hosts.get(str(obj.get("id") or "")) or "")
        day = _day(obj.get("start_time"))
        event = entry.event
        if event.startswith("user."):
            users = True
        elif event == "meeting.ended" and host and day:
            listings.add(Listing(INSTANCES, host, day))
            if obj.get("type") in (3, 8, "3", "8"):
                listings.add(Listing(SCHEDULED, host))
        elif event in MEETING_CHANGES and host:
            listings.add(Listing(SCHEDULED, host))
        elif event in WEBINAR_EVENTS and host:
            listings.add(Listing(WEBINARS, host))
        elif event == "recording.completed" and host and day:
            listings.add(Listing(RECORDINGS, host, day))
    return Targets(users=users, listings=frozenset(listings), account_streams=account_streams)


def status_of(
    entry: Entry,
    *,
    present: Mapping[str, set[str]],
    done_participants: set[str],
    now: datetime,
    pending_hours: float,
    fetched: bool,
    polled: bool,
) -> str:
    """What ``entry`` led to once this sync's rows are committed.

    ``present``: per table of ``WAITS_FOR_DATA``, the keys of this entry's kind now in the warehouse.
    ``fetched``: this sync ran its targeted fetch without failing. ``polled``: this sync was a full one."""
    wait = WAITS_FOR_DATA.get(entry.event)
    if wait is not None:
        key = str(obj_of(entry).get("uuid") or "")
        there = key in present.get(wait[0], set())
        if entry.event == "meeting.ended":
            there = there and key in done_participants
        if there:
            return "polled" if polled else "applied"
        age_hours = (now - entry.time).total_seconds() / 3600
        return "expired" if age_hours > pending_hours else "pending"
    if not fetches_something(entry):
        return "recorded"
    if polled:
        return "polled"
    return "applied" if fetched else "pending"


def record_of(entry: Entry, status: str, attempts: int) -> dict[str, Any]:
    """The ``zoom.events`` row of ``entry``."""
    obj = obj_of(entry)
    host = obj.get("host_id") or (obj.get("id") if entry.event.startswith("user.") else None)
    return {
        "id": entry.id,
        "event": entry.event,
        "event_time": entry.time.isoformat(),
        "object_id": None if obj.get("id") is None else str(obj.get("id")),
        "object_uuid": obj.get("uuid"),
        "host_id": host,
        "received_at": entry.received_at.isoformat(),
        "tracking_id": entry.tracking_id or None,
        "status": status,
        "attempts": attempts,
        "payload": entry.body,
    }
