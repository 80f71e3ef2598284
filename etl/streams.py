"""The stream registry: one frozen ``Stream`` per entity, variation as data (house style, rule 10).

A stream names the tables it feeds, its sources in order of preference (a GraphQL ``Query`` first where
the schema models it, then REST ``Endpoint``\\ s; later REST endpoints are per-resource fallbacks, tried
when the one before answers a ``ResourceError`` for that resource), its parent (whose keys it is fetched
for), its windowing and its keys. Categories are the OpenAPI "Rate Limit Label" of each operation (a test
checks this table against Zoom's OpenAPI file, and every query parameter used against the operation's).

Windowing:
    none          one listing per run (per parent key), a snapshot
    month         calendar-month ``from``/``to`` windows (recordings: Zoom caps a range at one month)
    report_month  the same, and no older than Zoom's report history (6 months)
    year_month    one ``year``/``month`` call per month (``/report/daily``), within the report history

Parents: ``users`` (per user id), ``meeting_instances`` (per instance UUID), ``webinars`` (per webinar id),
``webinar_instances`` (per webinar instance UUID). ``context_key`` is the name under which the parent key
is put on every record of the page (``Page.context``).
"""

from __future__ import annotations

from dataclasses import dataclass

from etl.sources.graphql import Query
from etl.sources.rest import Endpoint


@dataclass(frozen=True, slots=True)
class Stream:
    name: str
    tables: tuple[str, ...]
    keys: tuple[str, ...]
    sources: tuple[Query | Endpoint, ...]
    parent: str | None = None
    parent_param: str = ""  # the path placeholder (REST) / variable (GraphQL) the parent key fills
    context_key: str = ""  # Page.context key that carries the parent key
    windowing: str = "none"
    fanout: tuple[tuple[tuple[str, str], ...], ...] = ((),)  # one listing per extra param set
    # One more call per record: a webinar instance's report, a pending user's id.
    details: Endpoint | None = None

    @property
    def graphql(self) -> Query | None:
        return next((s for s in self.sources if isinstance(s, Query)), None)

    @property
    def rest(self) -> tuple[Endpoint, ...]:
        return tuple(s for s in self.sources if isinstance(s, Endpoint))

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        """Every REST operation the stream may call, details included."""
        return (*self.rest, *((self.details,) if self.details else ()))


WEBINAR_TYPES = (5, 6, 9)  # Zoom's webinar types: the meeting report lists webinars among meetings


def _get(path: str, key: str | None, category: str, **kwargs: object) -> Endpoint:
    return Endpoint(path, key, category, **kwargs)  # type: ignore[arg-type]


# users + meetings in one round trip per page of users (nested `meetings`, continued with meetings.graphql).
USERS_WITH_MEETINGS = Query("users_with_meetings", ("users",), "medium", nested=("meetings",))

STREAMS: tuple[Stream, ...] = (
    Stream(
        "users",
        tables=("users",),
        keys=("id",),
        sources=(
            Query("users", ("users",), "medium"),
            _get("/users", "users", "medium"),
        ),
        fanout=((("status", "active"),), (("status", "inactive"),), (("status", "pending"),)),
        # The listing leaves out a pending user's id; the user by email gives it (see jobs.identify_pending).
        details=_get("/users/{userId}", None, "light", paging="none"),
    ),
    Stream(
        "meetings",
        tables=("meetings",),
        keys=("id",),
        sources=(
            Query("meetings", ("meetings",), "medium"),
            _get("/users/{userId}/meetings", "meetings", "medium", params=(("type", "scheduled"),)),
        ),
        parent="users",
        parent_param="userId",
        context_key="host_id",
    ),
    Stream(
        "meeting_instances",
        tables=("meeting_instances",),
        keys=("uuid",),
        sources=(
            Query("meeting_instances", ("meetings",), "heavy"),
            _get(
                "/report/users/{userId}/meetings",
                "meetings",
                "heavy",
                params=(("type", "past"),),
                other_entities=(("type", WEBINAR_TYPES),),
            ),
        ),
        parent="users",
        parent_param="userId",
        context_key="host_id",
        windowing="report_month",
    ),
    Stream(
        "meeting_participants",
        tables=("meeting_participants",),
        keys=("meeting_uuid", "participant_key", "join_time"),
        sources=(
            Query("meeting_participants", ("meetingParticipantReports",), "heavy"),
            _get(
                "/report/meetings/{meetingId}/participants",
                "participants",
                "heavy",
                params=(("include_fields", "registrant_id"),),
            ),
            _get("/past_meetings/{meetingId}/participants", "participants", "medium"),
        ),
        parent="meeting_instances",
        parent_param="meetingId",
        context_key="meeting_uuid",
    ),
    Stream(
        "webinars",
        tables=("webinars",),
        keys=("id",),
        sources=(
            _get(
                "/users/{userId}/webinars",
                "webinars",
                "medium",
                params=(("type", "scheduled"),),
                paging="number",
            ),
        ),
        parent="users",
        parent_param="userId",
        context_key="host_id",
    ),
    Stream(
        "webinar_instances",
        tables=("webinar_instances",),
        keys=("uuid",),
        sources=(_get("/past_webinars/{webinarId}/instances", "webinars", "light", paging="none"),),
        parent="webinars",
        parent_param="webinarId",
        context_key="webinar_id",
        details=_get("/report/webinars/{webinarId}", None, "heavy", paging="none"),
    ),
    Stream(
        "webinar_participants",
        tables=("webinar_participants",),
        keys=("webinar_uuid", "participant_key", "join_time"),
        sources=(
            _get(
                "/report/webinars/{webinarId}/participants",
                "participants",
                "heavy",
                params=(("include_fields", "registrant_id"),),
            ),
            _get("/past_webinars/{webinarId}/participants", "participants", "medium"),
        ),
        parent="webinar_instances",
        parent_param="webinarId",
        context_key="webinar_uuid",
    ),
    Stream(
        "webinar_absentees",
        tables=("webinar_absentees",),
        keys=("webinar_uuid", "id"),
        sources=(_get("/past_webinars/{webinarId}/absentees", "registrants", "heavy"),),
        parent="webinar_instances",
        parent_param="webinarId",
        context_key="webinar_uuid",
    ),
    Stream(
        "recordings",
        tables=("recordings", "recording_files"),
        keys=("uuid",),
        sources=(
            Query("recordings", ("user", "recordings"), "medium"),
            _get("/users/{userId}/recordings", "meetings", "medium"),
        ),
        parent="users",
        parent_param="userId",
        context_key="host_id",
        windowing="month",
    ),
    Stream(
        "daily_usage",
        tables=("daily_usage",),
        keys=("date",),
        sources=(
            Query("daily_usage", ("dailyReport",), "heavy", page_size=31),
            _get("/report/daily", "dates", "heavy", paging="none"),
        ),
        windowing="year_month",
    ),
    Stream(
        "sign_in_activity",
        tables=("sign_in_activity",),
        keys=("email", "time", "type"),
        sources=(_get("/report/activities", "activity_logs", "heavy"),),
        windowing="report_month",
    ),
    Stream(
        "operation_logs",
        tables=("operation_logs",),
        keys=("time", "operator", "action", "category_type", "operation_detail"),
        sources=(_get("/report/operationlogs", "operation_logs", "heavy"),),
        windowing="report_month",
    ),
)

BY_NAME: dict[str, Stream] = {stream.name: stream for stream in STREAMS}


def stream(name: str) -> Stream:
    """The stream called ``name``; ``KeyError`` names the known ones."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown stream {name!r}; known: {', '.join(BY_NAME)}") from None


def with_ancestors(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The streams to run for ``names``: each one plus the parents it needs, in registry order."""
    wanted: set[str] = set()
    for name in names:
        current: str | None = name
        while current is not None and current not in wanted:
            wanted.add(current)
            current = stream(current).parent
    return tuple(s.name for s in STREAMS if s.name in wanted)
