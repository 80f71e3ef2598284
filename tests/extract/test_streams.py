"""The registry against Zoom's OpenAPI file: categories are the operations' "Rate Limit Label", every
query parameter we send exists on the operation, and page_size stays within its maximum."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest
from zoomspec import NEWER_THAN_THE_FILE, openapi

from etl.extract.windows import Window
from etl.http.ratelimit import normalize_category
from etl.sources.graphql import QUERIES_DIR
from etl.streams import BY_NAME, STREAMS, Stream, with_ancestors

LABEL = re.compile(r"Rate Limit Label\]\([^)]*\):\*\*\s*`([^`]+)`")
ENDPOINTS = [(s.name, e) for s in STREAMS for e in s.endpoints]


def operations() -> dict[str, Any]:
    return openapi()["paths"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("stream", "endpoint"), ENDPOINTS, ids=[f"{n}:{e.path}" for n, e in ENDPOINTS])
def test_endpoint_matches_the_openapi_operation(stream: str, endpoint: Any) -> None:
    if endpoint.path in NEWER_THAN_THE_FILE:  # the documented exception (zoomspec): Zoom's published facts
        from etl.simulator.rest import ROUTE_BY_TEMPLATE

        assert normalize_category(NEWER_THAN_THE_FILE[endpoint.path]) == endpoint.category
        route = ROUTE_BY_TEMPLATE[endpoint.path]
        assert endpoint.paging == "none" or endpoint.page_size == route.max_page == 300
        return
    operation = operations()[endpoint.path]["get"]
    label = LABEL.search(operation["description"])
    assert label, endpoint.path
    assert normalize_category(label.group(1)) == endpoint.category
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert set(endpoint.placeholders) == {n for n, p in parameters.items() if p["in"] == "path"}
    sent = dict(endpoint.query())
    if BY_NAME[stream].windowing in ("month", "report_month"):
        sent.update(Window(date(2024, 1, 1), date(2024, 1, 31)).params())
    if BY_NAME[stream].windowing == "year_month":
        sent.update({"year": 1, "month": 1})
    for extra in BY_NAME[stream].fanout if endpoint in BY_NAME[stream].rest else ():  # listings only
        sent.update(dict(extra))
    if endpoint.paging == "token":
        sent["next_page_token"] = "t"
    if endpoint.paging == "number":
        sent["page_number"] = 2
    for name, value in sent.items():
        assert name in parameters and parameters[name]["in"] == "query", f"{endpoint.path}: {name}"
        enum = parameters[name].get("schema", {}).get("enum")
        if name not in ("from", "to") and enum:
            assert value in enum, f"{endpoint.path}: {name}={value}"
    if "page_size" in parameters and endpoint.paging != "none":
        maximum = parameters["page_size"]["schema"].get("maximum", 300)
        assert endpoint.page_size == maximum  # Zoom's maximum, never the default 30


def test_every_graphql_source_has_its_query_file() -> None:
    for stream in STREAMS:
        if stream.graphql:
            assert (QUERIES_DIR / f"{stream.graphql.name}.graphql").is_file()


def test_registry_shape() -> None:
    names = [s.name for s in STREAMS]
    assert len(names) == len(set(names))
    for stream in STREAMS:
        assert isinstance(stream, Stream) and stream.sources and stream.tables and stream.keys
        if stream.parent:
            assert stream.parent in BY_NAME and stream.parent_param and stream.context_key
    assert BY_NAME["recordings"].tables == ("recordings", "recording_files")
    assert with_ancestors(["meeting_participants"]) == ("users", "meeting_instances", "meeting_participants")
    assert with_ancestors(["webinar_absentees"]) == (
        "users",
        "webinars",
        "webinar_instances",
        "webinar_absentees",
    )
