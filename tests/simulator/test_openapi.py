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

# Values real Zoom responses carry that this OpenAPI revision's enums leave out (Zoom's cloud-recording
# docs list them). Kept narrow and explicit: anything else outside an enum still fails.
ENUM_ADDITIONS = {
    "file_type": ["TIMELINE", "SUMMARY"],
    "file_extension": ["JSON"],
    "recording_type": ["timeline", "chat_file", "audio_transcript", "summary"],
}


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
    for route in ROUTES:
        op = _operation(spec, route.template)
        found = re.search(r"Rate Limit Label[^`]*`([A-Za-z-]+)`", op["description"])
        assert found, route.template
        assert LABELS[found.group(1).lower()] == route.category, route.template


def test_every_route_accepts_the_scopes_the_openapi_file_lists(spec: dict[str, Any]) -> None:
    for route in ROUTES:
        listed = {
            s
            for entry in _operation(spec, route.template)["security"]
            for s in entry.get("openapi_oauth", [])
        }
        assert set(route.scopes) <= listed, route.template
        assert route.scopes, route.template


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
        "/report/webinars/{webinarId}/participants": [
            f"/report/webinars/{enc(w_instance.uuid)}/participants"
        ],
        "/users/{userId}/recordings": [f"/users/{rec_host.id}/recordings?{window}"],
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
    non_empty_lists = 0
    for template, paths in samples.items():
        schema = strict(
            _operation(spec, template)["responses"]["200"]["content"]["application/json"]["schema"]
        )
        for path in paths:
            body = client.get_ok("/v2" + path)
            jsonschema.validate(body, schema, format_checker=FORMATS)
            non_empty_lists += any(isinstance(v, list) and v for v in body.values())
    assert non_empty_lists >= 20  # the samples really exercise item schemas, not just empty envelopes


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
