"""Zoom's GraphQL item shapes, cursors and injected faults, for the simulator's resolvers.

Items are plain dicts keyed by the GraphQL field names (camelCase of the REST names), so that the executor's
fast path reads leaf fields straight out of them; a hidden ``_src`` key keeps the model object for nested
resolvers (GraphQL returns only what a query selects, so it never leaks). Times are Zoom's ISO UTC strings.

A cursor is opaque to clients but stateless here: base64 of ``offset:fingerprint``, where the fingerprint
hashes what the listing depends on (field kind, user, meeting type, window...) but not the page size, so a
cursor replays deterministically, works with another ``first``, and is refused (``BAD_USER_INPUT``) by any
other listing. The nested ``User.meetings`` and root ``meetings(userId)`` share fingerprints, so a nested
cursor continues on the root field.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from graphql import GraphQLError

from etl.simulator.graphql_context import GraphQLContext
from etl.simulator.model import (
    ID_LESS_FILE_TYPES,
    DailyUsage,
    Meeting,
    MeetingInstance,
    Participant,
    Recording,
    User,
    Webinar,
)

T = TypeVar("T")

DEFAULT_FIRST = 30
"""Page size when ``first`` is omitted: REST's default; Zoom's GraphQL default is unverified."""
MAX_FIRST = 300
"""Larger ``first`` values are capped to this, as REST caps ``page_size``; Zoom's max is unverified."""
DRIFT_NULL_RATE = 0.1
"""With drift on, each nullable field of each list item comes back null with this probability."""


def error(message: str, code: str) -> GraphQLError:
    """A resolver error with ``extensions.code``; graphql-core adds ``locations`` and ``path``."""
    return GraphQLError(message, extensions={"code": code})


def ts(value: datetime | None) -> str | None:
    """Zoom's ISO UTC timestamp, ``2022-03-23T06:58:09Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_item(u: User) -> dict[str, Any]:
    return {
        "_src": u,
        "id": u.id,
        "email": u.email,
        "firstName": u.first_name,
        "lastName": u.last_name,
        "department": u.dept,
        "displayName": u.display_name,
        "type": u.type,
        "status": u.status,
        "roleId": u.role_id,
        "timezone": u.timezone,
        "pmi": u.pmi,
        "language": u.language,
        "userCreatedAt": ts(u.user_created_at),
        "lastLoginTime": ts(u.last_login_time),
        "lastClientVersion": u.last_client_version,
        "employeeUniqueId": u.employee_unique_id,
        "verified": u.verified,
    }


def scheduled_item(m: Meeting, start: datetime | None = None) -> dict[str, Any]:
    return {
        "_src": m,
        "id": m.id,
        "uuid": m.uuid,
        "hostId": m.host_id,
        "topic": m.topic,
        "type": m.type,
        "startTime": ts(start or m.start_time),
        "duration": m.duration,
        "timezone": m.timezone,
        "createdAt": ts(m.created_at),
        "agenda": m.agenda,
        "joinUrl": m.join_url,
    }


def instance_item(i: MeetingInstance, host: User | None) -> dict[str, Any]:
    """A past instance; ``totalMinutes`` is left to its resolver (it needs the participants)."""
    return {
        "_src": i,
        "id": i.id,
        "uuid": i.uuid,
        "hostId": i.host_id,
        "topic": i.topic,
        "type": i.type,
        "startTime": ts(i.start_time),
        "endTime": ts(i.end_time),
        "duration": i.duration,
        "participantsCount": i.participants_count,
        "userEmail": host.email if host else None,
        "userName": host.display_name if host else None,
        "hasRecording": i.has_recording,
        "hasScreenShare": i.has_screen_share,
    }


def participant_item(p: Participant) -> dict[str, Any]:
    return {
        "id": p.id,
        "userId": p.user_id,
        "participantUserId": p.participant_user_id,
        "name": p.name,
        "userEmail": p.user_email,
        "joinTime": ts(p.join_time),
        "leaveTime": ts(p.leave_time),
        "duration": p.duration,
        "status": p.status,
        "failover": p.failover,
        "customerKey": p.customer_key,
        "registrantId": p.registrant_id,
        "boMtgId": p.bo_mtg_id,
    }


def recording_item(r: Recording) -> dict[str, Any]:
    files = [
        {
            "id": None if idless else f.id,
            "meetingId": f.meeting_id,
            "recordingStart": ts(f.recording_start),
            "recordingEnd": ts(f.recording_end),
            "fileType": f.file_type,
            "fileExtension": f.file_extension,
            "fileSize": None if idless else f.file_size,
            "recordingType": None if idless else f.recording_type,
            "status": None if idless else f.status,
        }
        for f in r.files
        for idless in [f.file_type in ID_LESS_FILE_TYPES]
    ]
    return {
        "uuid": r.uuid,
        "id": r.id,
        "hostId": r.host_id,
        "topic": r.topic,
        "type": r.type,
        "startTime": ts(r.start_time),
        "duration": r.duration,
        "totalSize": r.total_size,
        "recordingCount": len(files),
        "recordingFiles": files,
    }


def webinar_item(w: Webinar) -> dict[str, Any]:
    return {
        "id": w.id,
        "uuid": w.uuid,
        "hostId": w.host_id,
        "topic": w.topic,
        "type": w.type,
        "startTime": ts(w.start_time),
        "duration": w.duration,
        "timezone": w.timezone,
        "createdAt": ts(w.created_at),
        "agenda": w.agenda,
        "joinUrl": w.join_url,
    }


def daily_item(d: DailyUsage) -> dict[str, Any]:
    return {
        "date": d.date.isoformat(),
        "newUsers": d.new_users,
        "meetings": d.meetings,
        "participants": d.participants,
        "meetingMinutes": d.meeting_minutes,
    }


# ---- faults -----------------------------------------------------------------------------------------


class FaultyItem(dict[str, Any]):
    """An item whose first nullable field read raises ``INTERNAL_ERROR`` (GraphQL partial errors knob).

    graphql-core's default resolver reads dict sources with ``get``, so the error lands on exactly one
    selected field of the item (null + an ``errors[]`` entry with its path); non-null fields stay intact,
    so the error never nulls the whole connection.
    """

    __slots__ = ("_armed",)

    def __init__(self, values: dict[str, Any], armed: tuple[str, ...]) -> None:
        super().__init__(values)
        self._armed = armed

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._armed:
            self._armed = ()
            raise error("Internal error, please try again later.", "INTERNAL_ERROR")
        return super().get(key, default)


def apply_faults(
    items: list[dict[str, Any]], nullable: tuple[str, ...], ctx: GraphQLContext
) -> list[dict[str, Any]]:
    """Drift (nullable fields come back null) and partial errors, drawn from the request's seeded rng.

    ``nullable`` is the item type's nullable leaf fields: the only ones a fault may touch, so that a fault
    never nulls a whole item (edges are ``[Item!]!``) or connection.
    """
    if not ctx.drift and ctx.partial_error_rate <= 0:
        return items
    rng: random.Random = ctx.rng
    out: list[dict[str, Any]] = []
    for item in items:
        if ctx.drift:
            for name in nullable:
                if rng.random() < DRIFT_NULL_RATE:
                    item[name] = None
        if ctx.partial_error_rate > 0 and rng.random() < ctx.partial_error_rate:
            item = FaultyItem(item, nullable)
        out.append(item)
    return out


# ---- pagination -------------------------------------------------------------------------------------


def fingerprint(*scope: object) -> str:
    return hashlib.blake2s(repr(scope).encode(), digest_size=6).hexdigest()


def encode_cursor(offset: int, fp: str) -> str:
    return base64.urlsafe_b64encode(f"{offset}:{fp}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fp: str) -> int:
    """The offset a cursor names, if this query issued it; ``BAD_USER_INPUT`` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        offset_text, cursor_fp = raw.split(":", 1)
        offset = int(offset_text)
    except ValueError:
        offset, cursor_fp = -1, ""
    if offset < 0 or cursor_fp != fp:
        raise error(f"Invalid cursor {cursor!r}: it was not issued for this query.", "BAD_USER_INPUT")
    return offset


def page_bounds(args: dict[str, Any], fp: str) -> tuple[int, int]:
    """(offset, size) from ``after`` and ``first``; validated before anything is charged."""
    first = args.get("first")
    size = DEFAULT_FIRST if first is None else min(first, MAX_FIRST)
    if size < 1:
        raise error(f"Argument 'first' must be a positive integer, got {first}.", "BAD_USER_INPUT")
    after = args.get("after")
    return (decode_cursor(after, fp) if after else 0), size


def page(
    items: Sequence[T],
    bounds: tuple[int, int],
    fp: str,
    convert: Callable[[T], dict[str, Any]],
    nullable: tuple[str, ...],
    ctx: GraphQLContext,
) -> dict[str, Any]:
    """One connection page: the converted items of ``bounds`` and the next cursor ("" on the last page)."""
    offset, size = bounds
    end = offset + size
    edges = apply_faults([convert(x) for x in items[offset:end]], nullable, ctx)
    return {"edges": edges, "pageInfo": {"cursor": encode_cursor(end, fp) if end < len(items) else ""}}
