"""The stream registry: one frozen ``Stream`` per entity, variation as data (house style, rule 10).

A stream names the tables it feeds, its sources in order of preference (a GraphQL ``Query`` first where
the schema models it, then REST ``Endpoint``\\ s; later REST endpoints are per-resource fallbacks, tried
when the one before answers a ``ResourceError`` for that resource), its parent (whose keys it is fetched
for), its windowing, how it is fetched again, and its keys. Each endpoint carries its rate-limit category
(the OpenAPI "Rate Limit Label") and its scopes, classic and granular; ``tests/test_registry.py`` checks
all of that against Zoom's OpenAPI file, and that every stream has a contract and is scheduled.

Everything else is derived from here: the extraction schedules each stream from its place in the tree
(``children_of``), the pipeline retries a keyed child's unfinished parent keys, the doctor checks scopes.
Adding a stream is one entry here plus its contract ``schemas/tables/<name>.toml`` (plus a query file for
GraphQL), see README "Adding a stream".

Windowing:
    none          one listing per run (per parent key), a snapshot
    month         calendar-month ``from``/``to`` windows (recordings: Zoom caps a range at one month)
    report_month  the same, and no older than Zoom's report history (6 months)
    year_month    one ``year``/``month`` call per month (``/report/daily``), within the report history

Refetch (how a stream below a listing is fetched again):
    listing   whenever its parent lists it (every run; the parent's own windows for windowed parents)
    changed   per parent key, once; again only when the parent record changes (a digest of it), with
              ``done_keys`` acknowledging each key and unfinished keys retried by the next run
    ended     per parent key, once the parent has ended for good (``done_keys``, settled keys only); a
              stream with ``details`` is fetched so per record of its listing (its own key)

``parent_param`` is the path placeholder (REST) and variable (GraphQL) the parent key fills;
``context_key`` is the name under which the parent key is put on every record of the page (``Page.context``,
the contract's ``parent_key`` column). The parent key is the parent's first key field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from etl.sources.graphql import Query
from etl.sources.rest import Endpoint

Windowing = Literal["none", "month", "report_month", "year_month"]
Refetch = Literal["listing", "changed", "ended"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Stream:
    name: str
    tables: tuple[str, ...]
    keys: tuple[str, ...]
    sources: tuple[Query | Endpoint, ...]
    parent: str | None = None
    parent_param: str = ""  # the path placeholder (REST) / variable (GraphQL) the parent key fills
    context_key: str = ""  # Page.context key that carries the parent key
    windowing: Windowing = "none"
    refetch: Refetch = "listing"
    fanout: tuple[tuple[tuple[str, str], ...], ...] = ((),)  # one listing per extra param set
    # One more call per record: a webinar instance's report, a pending user's id.
    details: Endpoint | None = None
    # The stream whose items the REST listing hands out apart (``Endpoint.other_entities``): the meeting
    # report lists webinars too, and they are the webinar instances' (a Zoom exception, see jobs).
    lists_also: str | None = None

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

    @property
    def keyed(self) -> bool:
        """Fetched per parent key and acknowledged with ``done_keys``: unfinished keys are retried."""
        return self.refetch != "listing" and self.details is None


WEBINAR_TYPES = (5, 6, 9)  # Zoom's webinar types: the meeting report lists webinars among meetings


_REPORT = ("report:read:admin",)
_MEETING = ("meeting:read", "meeting:read:admin")
_WEBINAR = ("webinar:read", "webinar:read:admin")


def _both(name: str) -> tuple[str, ...]:
    """A granular scope in its admin (account-wide, what Server-to-Server apps get) and user-level forms."""
    return (f"{name}:admin", name)


# users + meetings in one round trip per page of users (nested `meetings`, continued with meetings.graphql).
USERS_WITH_MEETINGS = Query(
    name="users_with_meetings", records_path=("users",), category="medium", nested=("meetings",)
)

STREAMS: tuple[Stream, ...] = (
    Stream(
        name="users",
        tables=("users",),
        keys=("id",),
        sources=(
            Query(name="users", records_path=("users",), category="medium"),
            Endpoint(
                path="/users",
                records_key="users",
                category="medium",
                scopes=("user:read:admin",),
                granular=("user:read:list_users:admin",),
            ),
        ),
        fanout=((("status", "active"),), (("status", "inactive"),), (("status", "pending"),)),
        # The listing leaves out a pending user's id; the user by email gives it (see users.identify_pending).
        details=Endpoint(
            path="/users/{userId}",
            records_key=None,
            category="light",
            scopes=("user:read", "user:read:admin", "user_info:read"),
            granular=_both("user:read:user"),
            paging="none",
        ),
    ),
    Stream(
        name="meetings",
        tables=("meetings",),
        keys=("id",),
        sources=(
            Query(name="meetings", records_path=("meetings",), category="medium"),
            Endpoint(
                path="/users/{userId}/meetings",
                records_key="meetings",
                category="medium",
                scopes=_MEETING,
                granular=_both("meeting:read:list_meetings"),
                params=(("type", "scheduled"),),
            ),
        ),
        parent="users",
        parent_param="userId",
        context_key="host_id",
    ),
    Stream(
        name="meeting_instances",
        tables=("meeting_instances",),
        keys=("uuid",),
        sources=(
            Query(name="meeting_instances", records_path=("meetings",), category="heavy"),
            Endpoint(
                path="/report/users/{userId}/meetings",
                records_key="meetings",
                category="heavy",
                scopes=_REPORT,
                granular=("report:read:list_meetings:admin",),
                params=(("type", "past"),),
                other_entities=(("type", WEBINAR_TYPES),),
            ),
        ),
        parent="users",
        parent_param="userId",
        context_key="host_id",
        windowing="report_month",
        lists_also="webinar_instances",
    ),
    Stream(
        name="meeting_participants",
        tables=("meeting_participants",),
        keys=("meeting_uuid", "participant_key", "join_time"),
        sources=(
            Query(name="meeting_participants", records_path=("meetingParticipantReports",), category="heavy"),
            Endpoint(
                path="/report/meetings/{meetingId}/participants",
                records_key="participants",
                category="heavy",
                scopes=_REPORT,
                granular=("report:read:list_meeting_participants:admin",),
                params=(("include_fields", "registrant_id"),),
            ),
            Endpoint(
                path="/past_meetings/{meetingId}/participants",
                records_key="participants",
                category="medium",
                scopes=_MEETING,
                granular=_both("meeting:read:list_past_participants"),
            ),
        ),
        parent="meeting_instances",
        parent_param="meetingId",
        context_key="meeting_uuid",
        refetch="changed",
    ),
    Stream(
        name="webinars",
        tables=("webinars",),
        keys=("id",),
        sources=(
            Endpoint(
                path="/users/{userId}/webinars",
                records_key="webinars",
                category="medium",
                scopes=_WEBINAR,
                granular=_both("webinar:read:list_webinars"),
                params=(("type", "scheduled"),),
                paging="number",
            ),
        ),
        parent="users",
        parent_param="userId",
        context_key="host_id",
    ),
    Stream(
        name="webinar_instances",
        tables=("webinar_instances",),
        keys=("uuid",),
        sources=(
            Endpoint(
                path="/past_webinars/{webinarId}/instances",
                records_key="webinars",
                category="light",
                scopes=_WEBINAR,
                granular=_both("webinar:read:list_past_instances"),
                paging="none",
            ),
        ),
        parent="webinars",
        parent_param="webinarId",
        context_key="webinar_id",
        refetch="ended",
        details=Endpoint(
            path="/report/webinars/{webinarId}",
            records_key=None,
            category="heavy",
            scopes=_REPORT,
            granular=("report:read:webinar:admin",),
            paging="none",
        ),
    ),
    Stream(
        name="webinar_participants",
        tables=("webinar_participants",),
        keys=("webinar_uuid", "participant_key", "join_time"),
        sources=(
            Endpoint(
                path="/report/webinars/{webinarId}/participants",
                records_key="participants",
                category="heavy",
                scopes=_REPORT,
                granular=("report:read:list_webinar_participants:admin",),
                params=(("include_fields", "registrant_id"),),
            ),
            Endpoint(
                path="/past_webinars/{webinarId}/participants",
                records_key="participants",
                category="medium",
                scopes=_WEBINAR,
                granular=_both("webinar:read:list_past_participants"),
            ),
        ),
        parent="webinar_instances",
        parent_param="webinarId",
        context_key="webinar_uuid",
        refetch="ended",
    ),
    Stream(
        name="webinar_absentees",
        tables=("webinar_absentees",),
        keys=("webinar_uuid", "id"),
        sources=(
            Endpoint(
                path="/past_webinars/{webinarId}/absentees",
                records_key="registrants",
                category="heavy",
                scopes=_WEBINAR,
                granular=_both("webinar:read:list_absentees"),
            ),
        ),
        parent="webinar_instances",
        parent_param="webinarId",
        context_key="webinar_uuid",
        refetch="ended",
    ),
    Stream(
        name="webinar_registrants",
        tables=("webinar_registrants",),
        keys=("webinar_id", "id"),
        sources=(
            Endpoint(
                path="/webinars/{webinarId}/registrants",
                records_key="registrants",
                category="medium",
                scopes=_WEBINAR,
                granular=_both("webinar:read:list_registrants"),
            ),
        ),
        parent="webinars",
        parent_param="webinarId",
        context_key="webinar_id",
        fanout=((("status", "approved"),), (("status", "pending"),), (("status", "denied"),)),
    ),
    Stream(
        name="recordings",
        tables=("recordings", "recording_files"),
        keys=("uuid",),
        sources=(
            Query(name="recordings", records_path=("user", "recordings"), category="medium"),
            Endpoint(
                path="/users/{userId}/recordings",
                records_key="meetings",
                category="medium",
                scopes=("recording:read", "recording:read:admin"),
                granular=_both("cloud_recording:read:list_user_recordings"),
            ),
        ),
        parent="users",
        parent_param="userId",
        context_key="host_id",
        windowing="month",
    ),
    Stream(
        name="daily_usage",
        tables=("daily_usage",),
        keys=("date",),
        sources=(
            Query(name="daily_usage", records_path=("dailyReport",), category="heavy", page_size=31),
            Endpoint(
                path="/report/daily",
                records_key="dates",
                category="heavy",
                scopes=_REPORT,
                granular=("report:read:daily_usage:admin",),
                paging="none",
            ),
        ),
        windowing="year_month",
    ),
    Stream(
        name="sign_in_activity",
        tables=("sign_in_activity",),
        keys=("email", "time", "type"),
        sources=(
            Endpoint(
                path="/report/activities",
                records_key="activity_logs",
                category="heavy",
                scopes=_REPORT,
                granular=("report:read:user_activities:admin",),
            ),
        ),
        windowing="report_month",
    ),
    Stream(
        name="operation_logs",
        tables=("operation_logs",),
        keys=("time", "operator", "action", "category_type", "operation_detail"),
        sources=(
            Endpoint(
                path="/report/operationlogs",
                records_key="operation_logs",
                category="heavy",
                scopes=_REPORT,
                granular=("report:read:operation_logs:admin",),
            ),
        ),
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


def children_of(name: str) -> tuple[Stream, ...]:
    """The streams fetched for the keys of ``name``'s records, in registry order."""
    return tuple(s for s in STREAMS if s.parent == name)


def family_of(name: str) -> tuple[str, ...]:
    """``name`` and every stream below it, in registry order."""
    return tuple(s.name for s in STREAMS if descends(s.name, name))


def descends(name: str, ancestor: str) -> bool:
    """Whether ``name`` is ``ancestor`` or below it."""
    current: str | None = name
    while current is not None:
        if current == ancestor:
            return True
        current = BY_NAME[current].parent
    return False


def roots(*, windowed: bool) -> tuple[Stream, ...]:
    """The streams fetched for no parent: the snapshot listings (``windowed=False``) or the account-wide
    windowed reports (``windowed=True``)."""
    return tuple(s for s in STREAMS if s.parent is None and (s.windowing != "none") == windowed)


def keyed_streams() -> tuple[Stream, ...]:
    """The streams fetched per parent key with ``done_keys`` (``Stream.keyed``): pending keys retried."""
    return tuple(s for s in STREAMS if s.keyed)
