"""REST v2: the route table (template, rate-limit category, scopes, handler) and the dispatcher.

The table below is the one place that says which rate-limit category each endpoint belongs to; a test
checks it against the "Rate Limit Label" and the scopes Zoom's OpenAPI file gives each operation.

Paths are matched on the *raw* request path, segment by segment, before any percent-decoding, because
Zoom's gateway decodes once and then splits: a meeting uuid that starts with ``/`` or contains ``//`` only
survives when double-encoded (``/ab==`` → ``%252Fab%253D%253D``); single-encoded it becomes a path that
names no meeting (404, code 3001). Other uuids work single-encoded; double-encoding them works too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from etl.simulator.rest import extras, meetings, metrics, recordings, reports, summaries, users, webinars
from etl.simulator.rest.common import Request
from etl.simulator.rest.errors import ApiError

Handler = Callable[[Request], tuple[int, dict]]

MEETING = ("meeting:read:admin", "meeting:read")
WEBINAR = ("webinar:read:admin", "webinar:read")
REPORT = ("report:read:admin",)
DASHBOARD = ("dashboard_meetings:read:admin", "dashboard:read:admin")
SUMMARY = ("meeting_summary:read:admin", "meeting_summary:read")


@dataclass(frozen=True, slots=True)
class Route:
    """One read endpoint. ``scopes`` (classic) and ``granular`` are the two families Zoom issues; a token
    holding any one scope of either list is let in. ``max_page`` is the OpenAPI file's ``page_size``
    maximum, refused above it (0: none documented; a paged listing is then capped at 300 silently);
    ``page_number``: the operation still lists that parameter."""

    template: str  # relative to /v2, e.g. "/users/{userId}/meetings"
    category: str  # light | medium | heavy | resource_intensive
    scopes: tuple[str, ...]  # classic; any one of them grants access
    handler: Handler
    granular: tuple[str, ...] = ()  # granular (apps created since 2024); any one grants access
    max_page: int = 0
    page_number: bool = False

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.template[1:].split("/"))


def _g(name: str) -> tuple[str, ...]:
    """A granular scope in its admin and user-level forms (``webinar:read:list_webinars[:admin]``)."""
    return (f"{name}:admin", name)


# Granular names: the OpenAPI file's ``x-granular-scopes`` where it has them (webinars, /metrics/meetings);
# elsewhere Zoom's published names for the operation (FACTS.md §5), tested against the file where it has them.
ROUTES: tuple[Route, ...] = (
    Route(
        "/users", "medium", ("user:read:admin",), users.list_users, ("user:read:list_users:admin",), 300, True
    ),
    Route(
        "/users/{userId}",
        "light",
        ("user:read:admin", "user:read", "user_info:read"),
        users.get_user,
        _g("user:read:user"),
    ),
    Route(
        "/users/{userId}/meetings",
        "medium",
        MEETING,
        meetings.list_meetings,
        _g("meeting:read:list_meetings"),
        300,
        True,
    ),
    # Before /meetings/{meetingId}, which its path also matches. Not in the OpenAPI file (newer than it).
    Route(
        "/meetings/meeting_summaries",
        "medium",
        SUMMARY,
        summaries.list_summaries,
        ("meeting:read:list_summaries:admin",),
        300,
    ),
    Route(
        "/meetings/{meetingId}/meeting_summary",
        "light",
        SUMMARY,
        summaries.get_summary,
        _g("meeting:read:summary"),
    ),
    Route("/meetings/{meetingId}", "light", MEETING, meetings.get_meeting, _g("meeting:read:meeting")),
    Route(
        "/past_meetings/{meetingId}", "light", MEETING, meetings.past_meeting, _g("meeting:read:past_meeting")
    ),
    Route(
        "/past_meetings/{meetingId}/participants",
        "medium",
        MEETING,
        meetings.past_participants,
        _g("meeting:read:list_past_participants"),
        300,
    ),
    Route(
        "/past_meetings/{meetingId}/instances",
        "medium",
        MEETING,
        meetings.past_instances,
        _g("meeting:read:list_past_instances"),
    ),
    Route(
        "/meetings/{meetingId}/registrants",
        "medium",
        MEETING,
        extras.meeting_registrants,
        _g("meeting:read:list_registrants"),
        300,
        True,
    ),
    Route(
        "/meetings/{meetingId}/registrants/questions",
        "light",
        MEETING,
        extras.meeting_questions,
        _g("meeting:read:list_registration_questions"),
    ),
    Route(
        "/meetings/{meetingId}/polls", "light", MEETING, extras.meeting_polls, _g("meeting:read:list_polls")
    ),
    Route(
        "/past_meetings/{meetingId}/polls",
        "medium",
        MEETING,
        extras.past_meeting_polls,
        _g("meeting:read:list_past_polls"),
    ),
    Route(
        "/past_meetings/{meetingId}/qa", "medium", MEETING, extras.past_meeting_qa, _g("meeting:read:past_qa")
    ),
    Route(
        "/report/users/{userId}/meetings",
        "heavy",
        REPORT,
        reports.user_meetings,
        ("report:read:list_meetings:admin",),
        300,
    ),
    Route(
        "/report/meetings/{meetingId}",
        "heavy",
        REPORT,
        reports.meeting_details,
        ("report:read:meeting:admin",),
    ),
    Route(
        "/report/meetings/{meetingId}/participants",
        "heavy",
        REPORT,
        reports.meeting_participants,
        ("report:read:list_meeting_participants:admin",),
        300,
    ),
    Route(
        "/users/{userId}/webinars",
        "medium",
        WEBINAR,
        webinars.list_webinars,
        _g("webinar:read:list_webinars"),
        300,
        True,
    ),
    Route("/webinars/{webinarId}", "light", WEBINAR, webinars.get_webinar, _g("webinar:read:webinar")),
    Route(
        "/webinars/{webinarId}/registrants",
        "medium",
        WEBINAR,
        extras.webinar_registrants,
        _g("webinar:read:list_registrants"),
        300,
        True,
    ),
    Route(
        "/webinars/{webinarId}/registrants/questions",
        "light",
        WEBINAR,
        extras.webinar_questions,
        _g("webinar:read:list_registration_questions"),
    ),
    Route(
        "/webinars/{webinarId}/panelists",
        "medium",
        WEBINAR,
        extras.webinar_panelists,
        _g("webinar:read:list_panelists"),
    ),
    Route(
        "/webinars/{webinarId}/polls", "light", WEBINAR, extras.webinar_polls, _g("webinar:read:list_polls")
    ),
    Route(
        "/webinars/{webinarId}/tracking_sources",
        "medium",
        WEBINAR,
        extras.webinar_tracking_sources,
        _g("webinar:read:list_tracking_sources"),
    ),
    Route(
        "/past_webinars/{webinarId}/instances",
        "light",
        WEBINAR,
        webinars.past_instances,
        _g("webinar:read:list_past_instances"),
    ),
    Route(
        "/past_webinars/{webinarId}/participants",
        "medium",
        WEBINAR,
        webinars.past_participants,
        _g("webinar:read:list_past_participants"),
        300,
    ),
    Route(
        "/past_webinars/{webinarId}/absentees",
        "heavy",
        WEBINAR,
        webinars.absentees,
        _g("webinar:read:list_absentees"),
        300,
    ),
    Route(
        "/past_webinars/{webinarId}/polls",
        "medium",
        WEBINAR,
        extras.past_webinar_polls,
        _g("webinar:read:list_past_polls"),
    ),
    Route(
        "/past_webinars/{webinarId}/qa", "medium", WEBINAR, extras.past_webinar_qa, _g("webinar:read:past_qa")
    ),
    Route(
        "/report/webinars/{webinarId}",
        "heavy",
        REPORT,
        webinars.report_details,
        ("report:read:webinar:admin",),
    ),
    Route(
        "/report/webinars/{webinarId}/participants",
        "heavy",
        REPORT,
        webinars.report_participants,
        ("report:read:list_webinar_participants:admin",),
        300,
    ),
    Route(
        "/users/{userId}/recordings",
        "medium",
        ("recording:read:admin", "recording:read"),
        recordings.list_recordings,
        _g("cloud_recording:read:list_user_recordings"),
        300,
    ),
    Route(
        "/meetings/{meetingId}/recordings",
        "light",
        ("recording:read:admin", "recording:read"),
        recordings.meeting_recordings,
        _g("cloud_recording:read:list_recording_files"),
    ),
    Route("/report/daily", "heavy", REPORT, reports.daily, ("report:read:daily_usage:admin",)),
    Route(
        "/report/users", "heavy", REPORT, reports.active_users, ("report:read:list_users:admin",), 300, True
    ),
    Route("/report/activities", "heavy", REPORT, reports.activities, ("report:read:user_activities:admin",)),
    Route(
        "/report/operationlogs",
        "heavy",
        REPORT,
        reports.operation_logs,
        ("report:read:operation_logs:admin",),
        300,
    ),
    Route(
        "/metrics/meetings",
        "resource_intensive",
        DASHBOARD,
        metrics.list_meetings,
        ("dashboard:read:list_meetings:admin",),
        300,
    ),
    Route(
        "/metrics/meetings/{meetingId}/participants",
        "heavy",
        DASHBOARD[:1],
        metrics.meeting_participants,
        ("dashboard:read:list_meeting_participants:admin",),
        300,
    ),
)
# Classic and granular scopes every route above can ask for (what ``scopes="classic"|"granular"`` grants).
CLASSIC_SCOPES: tuple[str, ...] = tuple(
    dict.fromkeys(s for r in ROUTES for s in r.scopes if s.endswith(":admin"))
)
GRANULAR_SCOPES: tuple[str, ...] = tuple(
    dict.fromkeys(s for r in ROUTES for s in r.granular if s.endswith(":admin"))
)
ROUTE_BY_TEMPLATE: dict[str, Route] = {r.template: r for r in ROUTES}

_BY_LENGTH: dict[int, list[Route]] = {}
for _route in ROUTES:
    _BY_LENGTH.setdefault(len(_route.segments), []).append(_route)


def decode_instance_id(raw: str, what: str = "Meeting") -> str:
    """A meeting/webinar id or uuid from its raw path segment, decoded the way Zoom's gateway does."""
    once = unquote(raw)
    if once.startswith("/") or "//" in once:
        raise ApiError(404, 3001, f"{what} {once} not found or has expired.")
    return unquote(once) if "%" in once else once


def match(raw_path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for a raw path below ``/v2`` (``/past_meetings/%252Fab%253D%253D``) and its raw params."""
    parts = raw_path[1:].split("/")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    for route in _BY_LENGTH.get(len(parts), ()):
        params: dict[str, str] = {}
        for want, got in zip(route.segments, parts, strict=True):
            if want[0] == "{":
                if not got:
                    break
                params[want[1:-1]] = got
            elif want != got:
                break
        else:
            return route, params
    return None


def dispatch(route: Route, raw_params: dict[str, str], req: Request, *, drift: bool) -> tuple[int, dict]:
    """Run one handler: Zoom errors become their JSON bodies; ``drift`` reshapes list items."""
    try:
        for name, raw in raw_params.items():
            if name == "meetingId":
                req.params[name] = decode_instance_id(raw)
            elif name == "webinarId":
                req.params[name] = decode_instance_id(raw, "Webinar")
            else:
                req.params[name] = unquote(raw)
        status, body = route.handler(req)
    except ApiError as exc:
        return exc.status, exc.body()
    if drift:
        apply_drift(body)
    return status, body


# Optional fields a drifting response may leave out (the first one an item has), and fields it adds.
_DROPPABLE = (
    "dept",
    "customer_key",
    "timezone",
    "agenda",
    "last_client_version",
    "registrant_id",
    "ip_address",
    "version",
    "client_type",
    "recording_type",
    "operation_detail",
)


def apply_drift(body: dict) -> None:
    """Schema drift, as Zoom ships it: list items gain new fields and lose an optional one."""
    for value in body.values():
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    for name in _DROPPABLE:
                        if name in item:
                            del item[name]
                            break
                    item["data_region"] = "US"
                    item["internal_tags"] = ["sim-drift"]
