"""The simulator's REST side checked against Zoom's OpenAPI file: categories, scopes and response schemas.

Schemas are made strict before validating (objects with declared properties refuse undeclared ones), so a
misspelt or invented field fails here, not in an extractor. Error bodies, which the file does not describe,
are checked against the envelope Zoom documents (``{"code": int, "message": str}``).
"""

from __future__ import annotations

import copy
import re
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import jsonschema
import orjson
import pytest
from zoomspec import OPENAPI

from etl.simulator.rest import ROUTES

LABELS = {"light": "light", "medium": "medium", "heavy": "heavy", "resource-intensive": "resource_intensive"}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "integer"}, "message": {"type": "string"}},
    "additionalProperties": False,
}

FORMATS = jsonschema.FormatChecker(formats=())

# ---- Documented exceptions: the only places the simulator's REST side differs from the OpenAPI file ----
# (README "The simulator" lists them too.)
#
# 1. Values real Zoom responses carry that this OpenAPI revision's enums leave out (Zoom's cloud-recording
#    docs list them). Kept narrow and explicit: anything else outside an enum still fails.
ENUM_ADDITIONS = {
    "file_type": ["TIMELINE", "SUMMARY"],
    "file_extension": ["JSON"],
    "recording_type": ["timeline", "chat_file", "audio_transcript", "summary"],
}
# 2. Scopes the file leaves out of an operation that Zoom's other pages grant: an admin app reads any
#    user's recordings (``/users/{userId}/recordings`` lists ``recording:read:admin``), and one meeting's
#    recording with the same scope; the file lists only ``recording:read`` there.
SCOPE_ADDITIONS = {"/meetings/{meetingId}/recordings": {"recording:read:admin"}}
# 3. Operations newer than this revision of the file: the AI Companion summaries. Their answers are checked
#    against a schema written from Zoom's own SDK types (Rivet ``MeetingsGetMeetingSummaryResponse``),
#    strict like the others.
_SUMMARY_ITEM = {
    "meeting_host_id": {"type": "string"},
    "meeting_host_email": {"type": "string"},
    "meeting_uuid": {"type": "string"},
    "meeting_id": {"type": "integer"},
    "meeting_topic": {"type": "string"},
    "meeting_start_time": {"type": "string", "format": "date-time"},
    "meeting_end_time": {"type": "string", "format": "date-time"},
    "summary_start_time": {"type": "string", "format": "date-time"},
    "summary_end_time": {"type": "string", "format": "date-time"},
    "summary_created_time": {"type": "string", "format": "date-time"},
    "summary_last_modified_time": {"type": "string", "format": "date-time"},
}
_DETAIL = {"type": "object", "properties": {"label": {"type": "string"}, "summary": {"type": "string"}}}
BEYOND_THE_FILE: dict[str, dict[str, Any]] = {
    "/meetings/meeting_summaries": {
        "type": "object",
        "properties": {
            "page_size": {"type": "integer"},
            "next_page_token": {"type": "string"},
            "from": {"type": "string", "format": "date-time"},
            "to": {"type": "string", "format": "date-time"},
            "summaries": {"type": "array", "items": {"type": "object", "properties": _SUMMARY_ITEM}},
        },
    },
    "/meetings/{meetingId}/meeting_summary": {
        "type": "object",
        "properties": {
            **_SUMMARY_ITEM,
            "summary_title": {"type": "string"},
            "summary_overview": {"type": "string"},
            "summary_details": {"type": "array", "items": _DETAIL},
            "next_steps": {"type": "array", "items": {"type": "string"}},
            "summary_content": {"type": "string"},
        },
        "required": ["meeting_uuid", "summary_overview", "summary_details", "next_steps"],
    },
}
FILE_ROUTES = tuple(r for r in ROUTES if r.template not in BEYOND_THE_FILE)
# 3. GET operations of the file under the account's users, meetings, webinars and reports that the simulator
#    does not serve (they answer 404 "No API found", or 1001 where ``/users/{userId}`` matches the path):
#    none feeds a stream zoom-etl or a peer connector (Airbyte's and Singer's source-zoom) has.
_WRITE_SIDE = "join tokens, ZAK, invitations, live streams: credentials and settings to start meetings"
_SETTINGS = "per-user settings and configuration, not data"
_OTHER_PRODUCT = "another product's data (cloud recording analytics, telephony, billing, TSP)"
_BY_ID = "one item by id, already in the served listing"
_REPEATS = "the same results as the served /past_meetings or /past_webinars operation of that name"
NOT_SERVED = {
    "/past_meetings/{meetingUUID}/archive_files": _OTHER_PRODUCT,
    "/meetings/{meetingId}/recordings/analytics_details": _OTHER_PRODUCT,
    "/meetings/{meetingId}/recordings/analytics_summary": _OTHER_PRODUCT,
    "/meetings/{meetingId}/recordings/registrants": _OTHER_PRODUCT,
    "/meetings/{meetingId}/recordings/registrants/questions": _OTHER_PRODUCT,
    "/meetings/{meetingId}/recordings/settings": _SETTINGS,
    "/meetings/{meetingId}/invitation": _WRITE_SIDE,
    "/meetings/{meetingId}/jointoken/live_streaming": _WRITE_SIDE,
    "/meetings/{meetingId}/jointoken/local_archiving": _WRITE_SIDE,
    "/meetings/{meetingId}/jointoken/local_recording": _WRITE_SIDE,
    "/meetings/{meetingId}/livestream": _WRITE_SIDE,
    "/meetings/{meetingId}/token": _WRITE_SIDE,
    "/meetings/{meetingId}/survey": _SETTINGS,
    "/meetings/{meetingId}/polls/{pollId}": _BY_ID,
    "/meetings/{meetingId}/registrants/{registrantId}": _BY_ID,
    "/users/{userId}/meeting_templates": _SETTINGS,
    "/users/{userId}/meeting_templates/{meetingTemplateId}": _SETTINGS,
    "/users/{userId}/webinar_templates": _SETTINGS,
    "/users/{userId}/pac": _SETTINGS,
    "/users/{userId}/tsp": _OTHER_PRODUCT,
    "/users/{userId}/tsp/{tspId}": _OTHER_PRODUCT,
    "/users/email": "an existence check (the user by email is /users/{userId})",
    "/users/vanity_name": _SETTINGS,
    "/users/summary": "account totals, derivable from /users by status",
    "/users/me/zak": _WRITE_SIDE,
    "/users/{userId}/token": _WRITE_SIDE,
    "/users/{userId}/assistants": _SETTINGS,
    "/users/{userId}/schedulers": _SETTINGS,
    "/users/{userId}/permissions": _SETTINGS,
    "/users/{userId}/settings": _SETTINGS,
    "/users/{userId}/collaboration_devices": _SETTINGS,
    "/users/{userId}/collaboration_devices/{collaborationDeviceId}": _SETTINGS,
    "/report/billing": _OTHER_PRODUCT,
    "/report/billing/invoices": _OTHER_PRODUCT,
    "/report/telephone": _OTHER_PRODUCT,
    "/report/cloud_recording": _OTHER_PRODUCT,
    "/report/upcoming_events": "future events; no stream reads them",
    "/report/meetings/{meetingId}/polls": _REPEATS,
    "/report/meetings/{meetingId}/qa": _REPEATS,
    "/report/webinars/{webinarId}/polls": _REPEATS,
    "/report/webinars/{webinarId}/qa": _REPEATS,
    "/webinars/{webinarId}/branding": _SETTINGS,
    "/webinars/{webinarId}/jointoken/live_streaming": _WRITE_SIDE,
    "/webinars/{webinarId}/jointoken/local_archiving": _WRITE_SIDE,
    "/webinars/{webinarId}/jointoken/local_recording": _WRITE_SIDE,
    "/webinars/{webinarId}/livestream": _WRITE_SIDE,
    "/webinars/{webinarId}/token": _WRITE_SIDE,
    "/webinars/{webinarId}/survey": _SETTINGS,
    "/webinars/{webinarId}/polls/{pollId}": _BY_ID,
    "/webinars/{webinarId}/registrants/{registrantId}": _BY_ID,
}
SWEPT_PREFIXES = re.compile(r"^/(users|meetings|past_meetings|webinars|past_webinars|report)(/|$)")


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if isinstance(value, str):
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", value):
            raise ValueError(f"not a Zoom date-time: {value!r}")
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@FORMATS.checks("date", raises=ValueError)
def _date(value: object) -> bool:
    if isinstance(value, str):
        date.fromisoformat(value)
    return True


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return orjson.loads(OPENAPI.read_bytes())


def _operation(spec: dict[str, Any], template: str) -> dict[str, Any]:
    return spec["paths"][template]["get"]


def strict(schema: Any) -> Any:
    """A copy where every object that lists its properties allows no others."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
                for name, extra in ENUM_ADDITIONS.items():
                    prop = node["properties"].get(name)
                    if isinstance(prop, dict) and "enum" in prop:
                        prop["enum"] = [*prop["enum"], *(v for v in extra if v not in prop["enum"])]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def test_every_route_exists_in_the_openapi_file_with_its_rate_limit_label(spec: dict[str, Any]) -> None:
    assert not set(BEYOND_THE_FILE) & set(spec["paths"])  # once the file has them, they are checked here
    for route in FILE_ROUTES:
        op = _operation(spec, route.template)
        found = re.search(r"Rate Limit Label[^`]*`([A-Za-z-]+)`", op["description"])
        assert found, route.template
        assert LABELS[found.group(1).lower()] == route.category, route.template


def test_every_route_accepts_the_scopes_the_openapi_file_lists(spec: dict[str, Any]) -> None:
    for route in FILE_ROUTES:
        listed = {
            s
            for entry in _operation(spec, route.template)["security"]
            for s in entry.get("openapi_oauth", [])
        }
        assert set(route.scopes) <= listed | SCOPE_ADDITIONS.get(route.template, set()), route.template
        assert route.scopes, route.template


def test_every_read_operation_of_the_account_is_served_or_a_documented_exception(
    spec: dict[str, Any],
) -> None:
    """The sweep's list: each GET of the file under users, meetings, webinars and reports is served, or
    listed in ``NOT_SERVED`` with its reason; nothing is both, and every exception names a real operation."""
    gets = {path for path, ops in spec["paths"].items() if "get" in ops and SWEPT_PREFIXES.match(path)}
    served = {route.template for route in ROUTES}
    assert gets - served == set(NOT_SERVED)
    assert not served & set(NOT_SERVED)


def test_every_route_holds_the_granular_scopes_and_page_limits_of_the_openapi_file(
    spec: dict[str, Any],
) -> None:
    """``x-granular-scopes`` where the file has them (webinars, /metrics/meetings), and for every paged
    operation its ``page_size`` maximum and whether it still lists ``page_number``."""
    with_granular = 0
    for route in FILE_ROUTES:
        op = _operation(spec, route.template)
        documented = op.get("extensions", {}).get("x-granular-scopes")
        assert route.granular, route.template
        assert all(
            s.count(":") >= 2 and not re.fullmatch(r"[a-z_]+:read(:admin)?", s) for s in route.granular
        )
        if documented:
            with_granular += 1
            assert set(route.granular) == set(documented), route.template
        params = {p["name"]: p for p in op.get("parameters", []) if p.get("in") == "query"}
        maximum = params.get("page_size", {}).get("schema", {}).get("maximum", 0)
        assert route.max_page == maximum, route.template
        assert route.page_number == ("page_number" in params), route.template
    assert with_granular == 13


def _samples(sim: Any) -> dict[str, list[str]]:
    """One or more realistic request paths per route template, picked from the generated account."""
    account, now = sim.account, sim.clock.now()
    today = now.date()
    month_ago = (today - timedelta(days=28)).isoformat()
    users = account.users(now, "active")
    instances = account.instances_in_window(now - timedelta(days=28), now, now, reported_only=True)
    busy = next(i for i in instances if i.participants_count >= 2)
    host = next(
        u
        for u in users
        if account.instances_of_host(u.id, now - timedelta(days=28), now, now, reported_only=True)
    )
    scheduled = next((u, m) for u in users for m in account.scheduled_meetings(u.id, now))
    web_host, webinar = next((u, w) for u in users for w in account.webinars(u.id, now))
    w_instance = next(
        i for u in users for w in account.webinars(u.id, now) for i in account.webinar_instances_of(w.id, now)
    )
    rec_host = next(u for u in users if account.recordings(u.id, now - timedelta(days=28), now, now))
    busy_ones = [i for i in instances if i.participants_count >= 3][:6]
    # No generated meeting takes registration (no meeting participant has a registrant id), so meeting
    # registrant listings are empty; webinar registrants exercise the same item schema.
    registered = next(m for i in instances if (m := account.meeting(i.id, now)) is not None)
    meetings = [m for u in users for m in account.scheduled_meetings(u.id, now)]
    all_webinars = [w for u in users for w in account.webinars(u.id, now)]
    w_instance = next(
        i
        for w in all_webinars
        for i in account.webinar_instances_of(w.id, now)
        if account.webinar(i.id, now) and account.webinar_registrants(i, now)
    )

    def enc(uuid: str) -> str:
        once = quote(uuid, safe="")
        return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once

    window = f"from={month_ago}&to={today.isoformat()}"
    return {
        "/users": ["/users?page_size=300", "/users?status=inactive", "/users?status=pending"],
        "/users/{userId}": [f"/users/{host.id}", f"/users/{quote(host.email)}"],
        "/users/{userId}/meetings": [
            f"/users/{scheduled[0].id}/meetings",
            f"/users/{host.id}/meetings?type=previous_meetings",
        ],
        "/meetings/{meetingId}": [f"/meetings/{scheduled[1].id}"],
        "/past_meetings/{meetingId}": [f"/past_meetings/{enc(busy.uuid)}", f"/past_meetings/{busy.id}"],
        "/past_meetings/{meetingId}/participants": [f"/past_meetings/{enc(busy.uuid)}/participants"],
        "/past_meetings/{meetingId}/instances": [f"/past_meetings/{busy.id}/instances"],
        "/report/users/{userId}/meetings": [f"/report/users/{host.id}/meetings?{window}&page_size=300"],
        "/report/meetings/{meetingId}": [f"/report/meetings/{enc(busy.uuid)}"],
        "/report/meetings/{meetingId}/participants": [
            f"/report/meetings/{enc(busy.uuid)}/participants?include_fields=registrant_id"
        ],
        "/users/{userId}/webinars": [f"/users/{web_host.id}/webinars"],
        "/webinars/{webinarId}": [f"/webinars/{webinar.id}"],
        "/past_webinars/{webinarId}/instances": [f"/past_webinars/{w_instance.id}/instances"],
        "/past_webinars/{webinarId}/participants": [f"/past_webinars/{enc(w_instance.uuid)}/participants"],
        "/past_webinars/{webinarId}/absentees": [f"/past_webinars/{enc(w_instance.uuid)}/absentees"],
        "/report/webinars/{webinarId}": [f"/report/webinars/{enc(w_instance.uuid)}"],
        "/meetings/{meetingId}/registrants": [
            f"/meetings/{registered.id}/registrants?page_size=300",
            f"/meetings/{registered.id}/registrants?status=pending",
        ],
        "/meetings/{meetingId}/registrants/questions": [f"/meetings/{scheduled[1].id}/registrants/questions"],
        "/meetings/{meetingId}/polls": [f"/meetings/{m.id}/polls" for m in meetings[:8]],
        "/past_meetings/{meetingId}/polls": [f"/past_meetings/{enc(i.uuid)}/polls" for i in busy_ones],
        "/past_meetings/{meetingId}/qa": [f"/past_meetings/{enc(i.uuid)}/qa" for i in busy_ones],
        "/webinars/{webinarId}/registrants": [
            f"/webinars/{w_instance.id}/registrants?page_size=300",
            f"/webinars/{w_instance.id}/registrants?status=denied",
        ],
        "/webinars/{webinarId}/registrants/questions": [f"/webinars/{webinar.id}/registrants/questions"],
        "/webinars/{webinarId}/panelists": [f"/webinars/{w.id}/panelists" for w in all_webinars[:6]],
        "/webinars/{webinarId}/polls": [f"/webinars/{w.id}/polls" for w in all_webinars[:6]],
        "/webinars/{webinarId}/tracking_sources": [
            f"/webinars/{w.id}/tracking_sources" for w in all_webinars[:6]
        ],
        "/past_webinars/{webinarId}/polls": [f"/past_webinars/{enc(w_instance.uuid)}/polls"],
        "/past_webinars/{webinarId}/qa": [f"/past_webinars/{enc(w_instance.uuid)}/qa"],
        "/report/webinars/{webinarId}/participants": [
            f"/report/webinars/{enc(w_instance.uuid)}/participants"
        ],
        "/users/{userId}/recordings": [f"/users/{rec_host.id}/recordings?{window}"],
        "/meetings/meeting_summaries": [
            f"/meetings/meeting_summaries?from={month_ago}T00:00:00Z&to={today.isoformat()}T23:59:59Z",
            "/meetings/meeting_summaries?page_size=5",
        ],
        "/meetings/{meetingId}/meeting_summary": [
            f"/meetings/{enc(r.uuid)}/meeting_summary"
            for r in account.recordings(rec_host.id, now - timedelta(days=28), now, now)[:3]
        ],
        "/meetings/{meetingId}/recordings": [
            f"/meetings/{enc(r.uuid)}/recordings"
            for r in account.recordings(rec_host.id, now - timedelta(days=28), now, now)[:4]
        ],
        "/report/daily": ["/report/daily", f"/report/daily?year={today.year}&month={month_ago[5:7]}"],
        "/report/users": [f"/report/users?{window}", f"/report/users?{window}&type=inactive"],
        "/report/activities": [f"/report/activities?{window}"],
        "/report/operationlogs": [f"/report/operationlogs?{window}"],
        "/metrics/meetings": [f"/metrics/meetings?type=past&{window}&page_size=300"],
        "/metrics/meetings/{meetingId}/participants": [
            f"/metrics/meetings/{enc(busy.uuid)}/participants?type=past"
        ],
    }


def test_every_endpoint_answers_what_its_openapi_schema_describes(
    spec, simulator_factory, zoom_client
) -> None:
    sim = simulator_factory(plan="business", rate_limits=False)
    client = zoom_client(sim)
    samples = _samples(sim)
    assert set(samples) == {r.template for r in ROUTES}
    non_empty_lists = validated = 0
    for template, paths in samples.items():
        schema = strict(
            BEYOND_THE_FILE[template]
            if template in BEYOND_THE_FILE
            else _operation(spec, template)["responses"]["200"]["content"]["application/json"]["schema"]
        )
        for path in paths:
            body = client.get_ok("/v2" + path)
            jsonschema.validate(body, schema, format_checker=FORMATS)
            validated += 1
            non_empty_lists += any(isinstance(v, list) and v for v in body.values())
    assert validated == sum(map(len, samples.values()))
    assert non_empty_lists >= 30  # the samples really exercise item schemas, not just empty envelopes


def test_drifting_responses_still_parse_but_differ(simulator_factory, zoom_client) -> None:
    sim = simulator_factory(rate_limits=False, faults={"drift": True})
    body = zoom_client(sim).get_ok("/v2/users")
    assert all("data_region" in u and "dept" not in u for u in body["users"])


def test_error_bodies_follow_zooms_error_envelope(simulator_factory, zoom_client) -> None:
    sim = simulator_factory(rate_limits=False)
    client = zoom_client(sim)
    today = sim.clock.now().date()
    errors = {
        "/v2/users/nobody@example.com": (404, 1001),
        "/v2/users/me/meetings": (400, 200),
        "/v2/past_meetings/999/participants": (404, 3001),
        "/v2/report/daily?year=2001&month=1": (400, 300),
        f"/v2/report/activities?from={today - timedelta(days=300)}&to={today - timedelta(days=290)}": (
            400,
            300,
        ),
        "/v2/users?next_page_token=bogus": (400, 300),
        "/v2/metrics/meetings?type=past&from=2026-01-01&to=2026-01-02": (400, 200),
    }
    for path, (status, code) in errors.items():
        got_status, _, body = client.get(path)
        assert (got_status, body["code"]) == (status, code), path
        jsonschema.validate(body, ERROR_SCHEMA)
    status, _, body = client.get("/v2/users", token="not-a-token")
    assert (status, body) == (401, {"code": 124, "message": "Invalid access token."})
