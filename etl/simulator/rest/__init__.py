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

from etl.simulator.rest import meetings, metrics, recordings, reports, users, webinars
from etl.simulator.rest.common import Request
from etl.simulator.rest.errors import ApiError

Handler = Callable[[Request], tuple[int, dict]]

MEETING = ("meeting:read:admin", "meeting:read")
WEBINAR = ("webinar:read:admin", "webinar:read")
REPORT = ("report:read:admin",)
DASHBOARD = ("dashboard_meetings:read:admin", "dashboard:read:admin")


@dataclass(frozen=True, slots=True)
class Route:
    template: str  # relative to /v2, e.g. "/users/{userId}/meetings"
    category: str  # light | medium | heavy | resource_intensive
    scopes: tuple[str, ...]  # any one of them grants access
    handler: Handler

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.template[1:].split("/"))


ROUTES: tuple[Route, ...] = (
    Route("/users", "medium", ("user:read:admin",), users.list_users),
    Route("/users/{userId}", "light", ("user:read:admin", "user:read", "user_info:read"), users.get_user),
    Route("/users/{userId}/meetings", "medium", MEETING, meetings.list_meetings),
    Route("/meetings/{meetingId}", "light", MEETING, meetings.get_meeting),
    Route("/past_meetings/{meetingId}", "light", MEETING, meetings.past_meeting),
    Route("/past_meetings/{meetingId}/participants", "medium", MEETING, meetings.past_participants),
    Route("/past_meetings/{meetingId}/instances", "medium", MEETING, meetings.past_instances),
    Route("/report/users/{userId}/meetings", "heavy", REPORT, reports.user_meetings),
    Route("/report/meetings/{meetingId}", "heavy", REPORT, reports.meeting_details),
    Route("/report/meetings/{meetingId}/participants", "heavy", REPORT, reports.meeting_participants),
    Route("/users/{userId}/webinars", "medium", WEBINAR, webinars.list_webinars),
    Route("/webinars/{webinarId}", "light", WEBINAR, webinars.get_webinar),
    Route("/past_webinars/{webinarId}/instances", "light", WEBINAR, webinars.past_instances),
    Route("/past_webinars/{webinarId}/participants", "medium", WEBINAR, webinars.past_participants),
    Route("/past_webinars/{webinarId}/absentees", "heavy", WEBINAR, webinars.absentees),
    Route("/report/webinars/{webinarId}", "heavy", REPORT, webinars.report_details),
    Route("/report/webinars/{webinarId}/participants", "heavy", REPORT, webinars.report_participants),
    Route(
        "/users/{userId}/recordings",
        "medium",
        ("recording:read:admin", "recording:read"),
        recordings.list_recordings,
    ),
    Route("/report/daily", "heavy", REPORT, reports.daily),
    Route("/report/users", "heavy", REPORT, reports.active_users),
    Route("/report/activities", "heavy", REPORT, reports.activities),
    Route("/report/operationlogs", "heavy", REPORT, reports.operation_logs),
    Route("/metrics/meetings", "resource_intensive", DASHBOARD, metrics.list_meetings),
    Route("/metrics/meetings/{meetingId}/participants", "heavy", DASHBOARD[:1], metrics.meeting_participants),
)

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
