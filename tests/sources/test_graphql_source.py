"""GraphQL source: name mapping, offline validation of the query files, the errors[] policy.

The policy tests hand ``fetch_pages`` a scripted client (the one method it calls, ``graphql``), returning
real ``etl.http.client.Response`` values: no HTTP, no monkeypatching.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from etl.errors import ApiError, AuthError, GraphQLUnavailable, RateLimitError, ResourceError, TransportError
from etl.http.body import decode
from etl.http.client import Response
from etl.records import Unreadable
from etl.sources.graphql import (
    QUERIES_DIR,
    SCHEMA_PATH,
    Documents,
    Query,
    fetch_pages,
    rest_name,
    to_rest_names,
)
from etl.streams import STREAMS, USERS_WITH_MEETINGS


@pytest.mark.parametrize(
    ("camel", "snake"),
    [
        ("joinUrl", "join_url"),
        ("startTime", "start_time"),
        ("participantUserId", "participant_user_id"),
        ("boMtgId", "bo_mtg_id"),
        ("meetingUUID", "meeting_uuid"),
        ("department", "dept"),
        ("pmi", "pmi"),
        ("recordingFiles", "recording_files"),
        ("userCreatedAt", "user_created_at"),
    ],
)
def test_rest_name(camel: str, snake: str) -> None:
    assert rest_name(camel) == snake


def test_to_rest_names_renames_nested_lists_and_dicts() -> None:
    item = {
        "uuid": "u",
        "recordingFiles": [{"fileType": "MP4", "meetingId": "u"}],
        "pageInfo": {"cursor": ""},
    }
    assert to_rest_names(item) == {
        "uuid": "u",
        "recording_files": [{"file_type": "MP4", "meeting_id": "u"}],
        "page_info": {"cursor": ""},
    }


def test_every_stream_query_file_validates_against_the_schema() -> None:
    documents = Documents()
    names = [s.graphql.name for s in STREAMS if s.graphql] + [USERS_WITH_MEETINGS.name]
    for name in names:
        assert "query" in documents.text(name)


def test_an_invalid_query_file_makes_graphql_unavailable(tmp_path: Path) -> None:
    shutil.copytree(QUERIES_DIR, tmp_path, dirs_exist_ok=True)
    (tmp_path / "users.graphql").write_text("query users($first: Int!) { users(first: $first) { nickname } }")
    documents = Documents(tmp_path, SCHEMA_PATH)
    with pytest.raises(GraphQLUnavailable, match="Cannot query field"):
        documents.text("users")
    with pytest.raises(GraphQLUnavailable):  # remembered, not re-read
        documents.text("users")
    with pytest.raises(GraphQLUnavailable, match="failed local validation"):
        documents.text("no_such_query")


class ScriptedClient:
    """Answers ``graphql`` calls with the next scripted body (or raises it)."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls: list[Mapping[str, Any]] = []

    def graphql(self, query: str, variables: Mapping[str, Any], *, category: str, units: int = 1) -> Response:
        self.calls.append(dict(variables))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Response(200, httpx.Headers(), orjson.dumps(answer), "/v3/graphql")


USERS = Query(name="users", records_path=("users",), category="medium")


def page(items: list[dict], cursor: str = "", errors: list[dict] | None = None) -> dict:
    body: dict[str, Any] = {"data": {"users": {"edges": items, "pageInfo": {"cursor": cursor}}}}
    if errors:
        body["errors"] = errors
    return body


def run(client: ScriptedClient, query: Query = USERS) -> list:
    waits: list[float] = []
    pages = list(fetch_pages(client, Documents(), query, {}, sleep=waits.append))  # type: ignore[arg-type]
    return [pages, waits]


def test_pages_follow_the_cursor_and_rename_records() -> None:
    client = ScriptedClient([page([{"id": "a", "firstName": "A"}], "c1"), page([{"id": "b"}])])
    pages, _ = run(client)
    assert [p.records for p in pages] == [[{"id": "a", "first_name": "A"}], [{"id": "b"}]]
    assert [c["after"] for c in client.calls] == [None, "c1"]
    assert all(c["first"] == 300 for c in client.calls)


def test_validation_error_makes_graphql_unavailable() -> None:
    client = ScriptedClient([{"errors": [{"message": 'Cannot query field "nickname" on type "User".'}]}])
    with pytest.raises(GraphQLUnavailable, match="Cannot query field"):
        run(client)


@pytest.mark.parametrize(
    "refusal",
    [
        ApiError("GraphQL is only available for paid account", status=400, code=200),
        ResourceError("Not Found", endpoint="/v3/graphql", status=404),  # no GraphQL for this account
        AuthError("missing scope", endpoint="/v3/graphql", status=400, code=4711),
        TransportError("server error", endpoint="/v3/graphql", status=502),  # after the client's retries
    ],
)
def test_a_request_refused_over_http_makes_graphql_unavailable(refusal: ApiError) -> None:
    """REST may still serve the stream; if the trouble is general, REST fails the same way and says so."""
    with pytest.raises(GraphQLUnavailable):
        run(ScriptedClient([refusal]))


def test_a_refused_token_and_a_rate_limit_pass_through() -> None:
    with pytest.raises(AuthError):
        run(ScriptedClient([AuthError("token request refused", endpoint="https://zoom.us/oauth/token")]))
    with pytest.raises(RateLimitError):
        run(ScriptedClient([RateLimitError("daily limit", endpoint="/v3/graphql", status=429)]))


@pytest.mark.parametrize(
    "connection",
    [
        {"edges": [{"id": "a"}, {"id": "b"}]},  # a full page without pageInfo
        {"edges": [{"id": "a"}, {"id": "b"}], "pageInfo": {}},  # ... or without a cursor
        {"edges": [{"id": "a"}], "pageInfo": {"cursor": "", "hasNextPage": True}},
        {"edges": [{"id": "a"}, {"id": "b"}], "pageInfo": "c1"},
    ],
)
def test_a_page_that_cannot_say_what_follows_makes_graphql_unavailable(connection: dict) -> None:
    """Ending the listing there would lose the rest of it without a word."""
    small = Query(name="users", records_path=("users",), category="medium", page_size=2)
    with pytest.raises(GraphQLUnavailable, match="cursor"):
        run(ScriptedClient([{"data": {"users": connection}}]), small)


def test_a_short_last_page_without_pageinfo_ends_the_listing() -> None:
    small = Query(name="users", records_path=("users",), category="medium", page_size=2)
    pages, _ = run(ScriptedClient([{"data": {"users": {"edges": [{"id": "a"}]}}}]), small)
    assert [p.records for p in pages] == [[{"id": "a"}]]


def test_a_repeating_cursor_makes_graphql_unavailable() -> None:
    client = ScriptedClient([page([{"id": "a"}], "c1"), page([{"id": "b"}], "c1")])
    with pytest.raises(GraphQLUnavailable, match="repeated"):
        run(client)


@pytest.mark.parametrize("code", ["RATE_LIMITED", "TOO_MANY_REQUESTS", "429"])
def test_rate_limited_page_waits_and_is_sent_again(code: str) -> None:
    """Zoom's GraphQL rate-limit code is undocumented: each spelling is waited out, not a fallback."""
    limited = {
        "data": {"users": None},
        "errors": [{"message": "slow", "extensions": {"code": code}}],
    }
    client = ScriptedClient([limited, limited, page([{"id": "a"}])])
    pages, waits = run(client)
    assert [p.records for p in pages] == [[{"id": "a"}]]
    assert waits == [1.0, 2.0]
    with pytest.raises(RateLimitError):
        run(ScriptedClient([limited] * 6))


def test_not_found_on_the_connection_is_a_resource_error() -> None:
    missing = {
        "data": {"users": None},
        "errors": [{"message": "User x not found", "extensions": {"code": "NOT_FOUND"}}],
    }
    with pytest.raises(ResourceError, match="not found"):
        run(ScriptedClient([missing]))


def test_other_connection_errors_are_retried_once_then_unavailable() -> None:
    broken = {
        "data": {"users": None},
        "errors": [{"message": "boom", "extensions": {"code": "INTERNAL_ERROR"}}],
    }
    pages, _ = run(ScriptedClient([broken, page([{"id": "a"}])]))
    assert [p.records for p in pages] == [[{"id": "a"}]]
    with pytest.raises(GraphQLUnavailable, match="repeated failures"):
        run(ScriptedClient([broken, broken]))


def item_error(index: int, field: str = "email") -> dict:
    return {
        "message": "internal",
        "path": ["users", "edges", index, field],
        "extensions": {"code": "INTERNAL_ERROR"},
    }


def test_partial_page_is_retried_once_and_a_clean_retry_replaces_it() -> None:
    partial = page([{"id": "a"}, {"id": "b", "email": None}], errors=[item_error(1)])
    client = ScriptedClient([partial, page([{"id": "a"}, {"id": "b", "email": "b@x"}])])
    pages, _ = run(client)
    assert pages[0].records == [{"id": "a"}, {"id": "b", "email": "b@x"}]
    assert pages[0].missing == ()
    assert len(client.calls) == 2


def test_partial_page_keeps_good_items_and_names_the_missing_ones() -> None:
    partial = page([{"id": "a"}, {"id": "b", "email": None}], errors=[item_error(1)])
    pages, _ = run(ScriptedClient([partial, partial]))
    assert pages[0].records == [{"id": "a"}]
    assert pages[0].missing == (("users.edges[1] (b)", "internal"),)


def test_errors_under_a_nested_field_are_left_to_the_caller() -> None:
    nested = Query(
        name="users_with_meetings", records_path=("users",), category="medium", nested=("meetings",)
    )
    body = page(
        [{"id": "a", "meetings": None}],
        errors=[item_error(0, "meetings") | {"extensions": {"code": "RATE_LIMITED"}}],
    )
    client = ScriptedClient([body])
    pages, waits = run(client, nested)
    assert pages[0].records == [{"id": "a", "meetings": None}]
    assert pages[0].missing == () and waits == [] and len(client.calls) == 1


def test_an_error_deep_under_a_nested_field_hands_the_field_on_as_null() -> None:
    """One of a user's nested meetings nulled by an error: the caller refetches the user's meetings whole
    (a null field) rather than keep a page that silently lost a meeting."""
    nested = Query(
        name="users_with_meetings", records_path=("users",), category="medium", nested=("meetings",)
    )
    meetings = {"edges": [{"id": 1}, None], "pageInfo": {"cursor": ""}}
    error = {"message": "internal", "path": ["users", "edges", 0, "meetings", "edges", 1], "extensions": {}}
    client = ScriptedClient([page([{"id": "a", "meetings": meetings}, {"id": "b"}], errors=[error])])
    pages, _ = run(client, nested)
    assert pages[0].records == [{"id": "a", "meetings": None}, {"id": "b"}]
    assert pages[0].missing == () and len(client.calls) == 1


def test_dropped_counts_the_items_a_page_lost_not_errors_that_name_none() -> None:
    """Only lost items make a unit incomplete (refetched next run); a pathless notice is only recorded."""
    notice = {"message": "deprecated argument", "extensions": {"code": "DEPRECATED"}}
    client = ScriptedClient([page([{"id": "a"}, None], errors=[notice, item_error(0)])] * 2)
    pages, _ = run(client)
    assert pages[0].dropped == 2 and len(pages[0].missing) == 3
    clean = ScriptedClient([page([{"id": "a"}], errors=[notice])] * 2)
    pages, _ = run(clean)
    assert pages[0].dropped == 0 and pages[0].records == [{"id": "a"}]
    assert [m[1] for m in pages[0].missing] == ["deprecated argument"]


def test_an_unstorable_item_of_a_repaired_body_travels_as_an_unreadable_not_a_dropped_item() -> None:
    """A body only a lenient reading parsed (``Response.repaired``): its bad item reaches normalize (and
    ``_etl.rejects``) as an ``Unreadable``; it is not counted as dropped, so no gap is opened for it."""
    raw = b'{"data": {"users": {"edges": [{"id": "a", "firstName": "Bad \\ud800"}, {"id": "b"}],'
    raw += b' "pageInfo": {"cursor": ""}}}}'
    parsed, repaired = decode(raw)

    class Lenient(ScriptedClient):
        def graphql(
            self, query: str, variables: Mapping[str, Any], *, category: str, units: int = 1
        ) -> Response:
            return Response(200, httpx.Headers(), raw, "/v3/graphql", parsed, repaired=repaired)

    pages, _ = run(Lenient([]))
    first, second = pages[0].records
    assert isinstance(first, Unreadable) and '"firstName":"Bad \ufffd"' in first, first
    assert second == {"id": "b"}
    assert (pages[0].dropped, pages[0].missing) == (0, ())
