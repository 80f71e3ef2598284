"""ZoomClient at the transport seam: auth, retries, error mapping, paths, statistics."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from zoomfakes import API, SECRET, FakeClock, FakeZoom, account, bearer, settings, zoom_json

from etl.errors import ApiError, AuthError, RateLimitError, ResourceError, ScopeError, TransportError
from etl.http import Response, ZoomClient, endpoint_template
from etl.http.client import MAX_TOKEN_REFRESHES


def ok(request: httpx.Request) -> httpx.Response:
    return zoom_json(200, {"path": request.url.raw_path.decode()})


def test_token_fetched_once_and_shared_by_20_threads() -> None:
    zoom = FakeZoom(ok)
    zoom.token_gate = threading.Event()  # hold the token response until every thread is waiting for it
    with zoom.client() as client, ThreadPoolExecutor(20) as pool:
        futures = [pool.submit(client.rest_get, f"/users/u{i}", category="light") for i in range(20)]
        zoom.token_gate.set()
        results = [f.result() for f in futures]
    assert zoom.tokens_issued == 1
    assert {bearer(r) for r in zoom.requests} == {"token-1"}
    assert sorted(r.json()["path"] for r in results) == sorted(f"/v2/users/u{i}" for i in range(20))
    assert client.stats.token_fetches == 1


@pytest.mark.parametrize("status", [401, 400])
def test_refresh_on_invalid_token_then_success(status: int) -> None:
    def api(request: httpx.Request) -> httpx.Response:
        if bearer(request) == "token-1":
            return zoom_json(status, {"code": 124, "message": "Invalid access token."})
        return zoom_json(200, {"users": []})

    zoom = FakeZoom(api)
    with zoom.client() as client:
        assert client.rest_get("/users", category="medium").json() == {"users": []}
    assert zoom.tokens_issued == 2
    assert [bearer(r) for r in zoom.requests] == ["token-1", "token-2"]


def test_refresh_a_bounded_number_of_times_per_request_then_auth_error() -> None:
    zoom = FakeZoom(lambda r: zoom_json(401, {"code": 124, "message": "Invalid access token."}))
    with zoom.client() as client, pytest.raises(AuthError) as caught:
        client.rest_get("/users", category="medium")
    assert zoom.tokens_issued == 1 + MAX_TOKEN_REFRESHES
    assert len(zoom.requests) == 1 + MAX_TOKEN_REFRESHES
    assert len({bearer(r) for r in zoom.requests}) == len(zoom.requests)  # never the same refused token twice
    assert caught.value.status == 401 and caught.value.code == 124
    assert "GET /v2/users" in str(caught.value)
    assert "token-" not in str(caught.value)


def test_token_refreshed_before_expiry() -> None:
    clock = FakeClock()
    zoom = FakeZoom(ok, expires_in=3600)
    with zoom.client(clock) as client:
        client.rest_get("/users", category="light")
        clock.advance(3600 - 61)
        client.rest_get("/users", category="light")
        assert zoom.tokens_issued == 1
        clock.advance(2)  # inside the 60 s margin
        client.rest_get("/users", category="light")
    assert zoom.tokens_issued == 2
    assert [bearer(r) for r in zoom.requests] == ["token-1", "token-1", "token-2"]


def test_oauth_refusal_is_auth_error_without_secret(caplog: pytest.LogCaptureFixture) -> None:
    def transport(request: httpx.Request) -> httpx.Response:
        # a hostile server echoing the credentials must not get them into our message
        return zoom_json(400, {"error": "invalid_client", "reason": f"bad secret {SECRET}"})

    caplog.set_level(logging.DEBUG)
    client = ZoomClient(account(), settings(), transport=httpx.MockTransport(transport), sleep=lambda s: None)
    with client, pytest.raises(AuthError) as caught:
        client.rest_get("/users", category="light")
    message = str(caught.value)
    assert "invalid_client" in message and "acc-1" in message and "HTTP 400" in message
    assert SECRET not in message and SECRET not in repr(caught.value)
    assert SECRET not in caplog.text


def test_backoff_on_503_then_success() -> None:
    calls = []

    def api(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return zoom_json(503, {"message": "busy"}) if len(calls) < 3 else zoom_json(200, {"ok": True})

    clock = FakeClock()
    zoom = FakeZoom(api)
    with zoom.client(clock) as client:
        assert client.rest_get("/users", category="light").json() == {"ok": True}
        stats = client.stats
    assert len(calls) == 3
    # full jitter with rng 0.5: half of 0.5 s, then half of 1 s (limiter sleeps are tiny at this scale)
    assert [s for s in clock.sleeps if s >= 0.1] == [0.25, 0.5]
    assert stats.retries == 2 and stats.server_errors == 2 and stats.requests == 3


def test_bounded_retries_then_transport_error() -> None:
    zoom = FakeZoom(lambda r: zoom_json(502, {"message": "bad gateway"}))
    with zoom.client(retry_attempts=4) as client, pytest.raises(TransportError) as caught:
        client.rest_get("/users", category="light")
    assert len(zoom.requests) == 4
    assert caught.value.status == 502
    assert client.stats.errors == 1


def test_network_errors_and_truncated_bodies_are_retried() -> None:
    outcomes = iter(["reset", "truncated", "empty", "timeout", "ok"])

    def api(request: httpx.Request) -> httpx.Response:
        outcome = next(outcomes)
        if outcome == "reset":
            raise httpx.ReadError("connection reset by peer", request=request)
        if outcome == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if outcome == "truncated":
            return httpx.Response(
                200, content=b'{"users": [{"id": "a"', headers={"Content-Type": "application/json"}
            )
        if outcome == "empty":  # a 200 without a body: Zoom always answers JSON, so the transfer was lost
            return httpx.Response(200, content=b"")
        return zoom_json(200, {"users": [{"id": "a"}]})

    zoom = FakeZoom(api)
    with zoom.client() as client:
        assert client.rest_get("/users", category="medium").json() == {"users": [{"id": "a"}]}
        assert client.stats.network_errors == 4


def test_connection_failures_exhausted_give_transport_error() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    zoom = FakeZoom(api)
    with zoom.client(retry_attempts=3) as client, pytest.raises(TransportError, match="ConnectError"):
        client.rest_get("/users", category="light")
    assert len(zoom.requests) == 3


def test_429_retry_after_seconds_is_honoured() -> None:
    calls = []

    def api(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return zoom_json(429, {"code": 429, "message": "per-second limit"}, **{"Retry-After": "7"})
        return zoom_json(200, {"ok": True})

    clock = FakeClock()
    zoom = FakeZoom(api)
    with zoom.client(clock) as client:
        start = clock()
        assert client.rest_get("/report/daily", category="heavy").json() == {"ok": True}
        assert client.stats.throttled == 1
    assert len(calls) == 2
    assert max(clock.sleeps) == pytest.approx(7.0, abs=0.01)  # waited in the limiter's pause
    assert clock() - start >= 7.0


def test_429_retry_after_as_a_date_is_read_on_zooms_clock_not_ours() -> None:
    """Zoom's clock is years behind the machine's (or the machine's is off): a Retry-After date 7 s
    after Zoom's now still means 7 s, not "long past, retry at once" (nor years)."""
    calls = []

    def api(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return zoom_json(429, {"code": 429, "message": "slow"}, **{"Retry-After": "2020-05-31T12:00:07Z"})
        return zoom_json(200, {"ok": True})

    clock = FakeClock()
    zoom = FakeZoom(api, date="Sun, 31 May 2020 12:00:00 GMT")
    with zoom.client(clock) as client:
        assert client.rest_get("/report/daily", category="heavy").json() == {"ok": True}
    assert len(calls) == 2
    assert max(clock.sleeps) == pytest.approx(7.0, abs=0.01)


def test_429_retry_after_pauses_the_whole_category_for_other_threads() -> None:
    clock = FakeClock()
    seen: list[float] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(clock())
        if len(seen) == 1:
            return zoom_json(429, {"code": 429, "message": "slow down"}, **{"Retry-After": "5"})
        return zoom_json(200, {})

    zoom = FakeZoom(api)
    with zoom.client(clock) as client:
        client.rest_get("/a", category="heavy")
        client.rest_get("/b", category="heavy")
        client.rest_get("/c", category="light")  # another category is not paused beyond the clock
    assert seen[1] - seen[0] >= 5.0 and seen[2] >= seen[1]


def test_daily_429_is_not_waited_out() -> None:
    zoom = FakeZoom(
        lambda r: zoom_json(
            429,
            {"code": 429, "message": "You have reached the maximum daily rate limit for this API."},
            **{"Retry-After": "2030-05-31T00:00:00Z", "X-RateLimit-Type": "Daily-limit"},
        )
    )
    with zoom.client() as client, pytest.raises(RateLimitError) as caught:
        client.rest_get("/report/daily", category="heavy")
    assert len(zoom.requests) == 1
    assert caught.value.status == 429 and caught.value.endpoint == "/v2/report/daily"


def test_404_is_not_retried_and_keeps_code() -> None:
    zoom = FakeZoom(
        lambda r: zoom_json(404, {"code": 3001, "message": "Meeting 123 not found or has expired."})
    )
    with zoom.client() as client, pytest.raises(ResourceError) as caught:
        client.rest_get("/report/meetings/123/participants", {"page_size": 300}, category="heavy")
    assert len(zoom.requests) == 1
    error = caught.value
    assert (error.method, error.status, error.code) == ("GET", 404, 3001)
    assert error.endpoint == "/v2/report/meetings/123/participants"
    assert "not found or has expired" in str(error)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, 12702, ResourceError),
        (404, 1001, ResourceError),
        (400, 1010, ResourceError),
        (400, 3000, ResourceError),
        (400, 3161, ResourceError),
        (400, 300, ApiError),
        (403, 200, ApiError),
        (400, 4700, ScopeError),  # an AuthError: a missing scope
        (400, 4711, ScopeError),
    ],
)
def test_other_4xx_are_final(status: int, code: int, kind: type[ApiError]) -> None:
    zoom = FakeZoom(lambda r: zoom_json(status, {"code": code, "message": "nope"}))
    with zoom.client() as client, pytest.raises(kind) as caught:
        client.rest_get("/users", {"next_page_token": "abc"}, category="medium")
    assert type(caught.value) is kind
    assert caught.value.code == code and caught.value.status == status
    assert len(zoom.requests) == 1
    assert zoom.tokens_issued == 1


@pytest.mark.parametrize(
    ("params", "kind"), [({"page_size": 300}, ResourceError), ({"next_page_token": "t"}, ApiError)]
)
def test_code_300_is_one_resource_out_of_reach_on_a_first_page_only(
    params: dict[str, str | int], kind: type[ApiError]
) -> None:
    """A first page refused with 300 ("Cannot access meeting information") is skipped like a 3001; on a
    later page 300 is an expired token, which the paginator restarts from, so it must stay an ApiError."""
    zoom = FakeZoom(lambda r: zoom_json(400, {"code": 300, "message": "Cannot access meeting information."}))
    with zoom.client() as client, pytest.raises(ApiError) as caught:
        client.rest_get("/past_meetings/abc%3D%3D/participants", params, category="medium")
    assert type(caught.value) is kind
    assert caught.value.code == 300 and len(zoom.requests) == 1


def test_code_300_on_graphql_is_not_a_resource() -> None:
    """A POST to /v3/graphql is about no one resource: the GraphQL source decides what a refusal means."""
    zoom = FakeZoom(lambda r: zoom_json(400, {"code": 300, "message": "Invalid request."}))
    with zoom.client() as client, pytest.raises(ApiError) as caught:
        client.graphql("{ users { edges { id } } }", {}, category="medium")
    assert type(caught.value) is ApiError and caught.value.code == 300


def test_double_encoded_path_reaches_server_unchanged() -> None:
    zoom = FakeZoom(ok)
    path = "/past_meetings/%252Fabc%252F%252Fdef%253D%253D/participants"
    with zoom.client() as client:
        response = client.rest_get(path, {"page_size": 300, "next_page_token": "a/b+c="}, category="medium")
    raw = zoom.requests[0].url.raw_path.decode()
    assert raw == "/v2" + path + "?page_size=300&next_page_token=a%2Fb%2Bc%3D"
    assert response.url == raw
    assert str(zoom.requests[0].url).startswith(API + "/v2/past_meetings/%252Fabc")


def test_graphql_posts_query_and_returns_200_with_errors() -> None:
    def api(request: httpx.Request) -> httpx.Response:
        assert request.method == "POST" and request.url.path == "/v3/graphql"
        assert request.headers["Content-Type"] == "application/json"
        body = httpx.Response(200, content=request.content).json()
        return zoom_json(200, {"data": {"users": None}, "errors": [{"message": "boom"}], "echo": body})

    zoom = FakeZoom(api)
    with zoom.client() as client:
        response = client.graphql(
            "query($n:Int){users(first:$n){edges{id}}}", {"n": 5}, category="medium", units=3
        )
        stats = client.stats
    assert response.status == 200 and response.json()["errors"] == [{"message": "boom"}]
    assert response.json()["echo"] == {
        "query": "query($n:Int){users(first:$n){edges{id}}}",
        "variables": {"n": 5},
    }
    assert stats.units_by_category == {"medium": 3} and stats.by_endpoint == {"/v3/graphql": 1}


def test_graphql_non_2xx_raises_after_retries() -> None:
    zoom = FakeZoom(lambda r: zoom_json(500, {"message": "oops"}))
    with zoom.client(retry_attempts=2) as client, pytest.raises(TransportError) as caught:
        client.graphql("{users{edges{id}}}", {}, category="medium")
    assert caught.value.method == "POST" and caught.value.endpoint == "/v3/graphql"
    assert len(zoom.requests) == 2


def test_regional_api_url_from_token_replaces_default_base() -> None:
    zoom = FakeZoom(ok, api_url="https://eu01api.zoom.us")
    client = ZoomClient(
        account(api_url="https://api.zoom.us"),
        settings(),
        transport=httpx.MockTransport(zoom),
        sleep=lambda s: None,
    )
    with client:
        client.rest_get("/users", category="light")
        assert client.api_url == "https://eu01api.zoom.us"
    assert str(zoom.requests[0].url) == "https://eu01api.zoom.us/v2/users"


def test_configured_api_url_wins_over_token_api_url() -> None:
    zoom = FakeZoom(ok, api_url="https://api-eu.zoom.test")
    with zoom.client() as client:
        client.rest_get("/users", category="light")
    assert str(zoom.requests[0].url) == API + "/v2/users"


def test_stats_by_category_and_endpoint_template() -> None:
    zoom = FakeZoom(ok)
    with zoom.client() as client:
        client.rest_get("/users/KDcuGIm1QgePTO8WbOqwIQ/meetings", category="medium")
        client.rest_get("/users/Abc/meetings", category="medium")
        client.rest_get("/report/daily", {"year": 2026, "month": 1}, category="heavy")
        stats = client.stats
    assert stats.by_category == {"medium": 2, "heavy": 1}
    assert stats.by_endpoint == {"/v2/users/{id}/meetings": 2, "/v2/report/daily": 1}
    assert (
        endpoint_template("/v2/past_meetings/%252Fabc%253D/participants")
        == "/v2/past_meetings/{id}/participants"
    )


def test_no_secret_or_token_in_debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    calls = []

    def api(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return (
            zoom_json(401, {"code": 124, "message": "Invalid access token."})
            if len(calls) == 1
            else ok(request)
        )

    zoom = FakeZoom(api)
    with zoom.client() as client:
        client.rest_get("/users", category="light")
    assert "GET /v2/users" in caplog.text
    assert "token-1" not in caplog.text and "token-2" not in caplog.text and SECRET not in caplog.text


def test_invalid_path_is_refused() -> None:
    zoom = FakeZoom(ok)
    with zoom.client() as client, pytest.raises(ValueError):
        client.rest_get("/users?page_size=3", category="light")


def test_response_json_is_decoded_once_and_matches_content() -> None:
    zoom = FakeZoom(lambda r: zoom_json(200, {"a": [1, 2]}))
    with zoom.client() as client:
        response = client.rest_get("/users", category="light")
    assert response.json() == {"a": [1, 2]}
    assert Response(200, httpx.Headers(), b'{"a": [1, 2]}', "/x").json() == {"a": [1, 2]}


def test_long_retry_after_is_not_waited_out() -> None:
    zoom = FakeZoom(
        lambda r: zoom_json(429, {"code": 429, "message": "slow down"}, **{"Retry-After": "3600"})
    )
    clock = FakeClock()
    with zoom.client(clock) as client, pytest.raises(RateLimitError):
        client.rest_get("/report/daily", category="heavy")
    assert len(zoom.requests) == 1 and max(clock.sleeps, default=0) < 1


def test_spent_heavy_budget_raises_before_sending() -> None:
    zoom = FakeZoom(ok)
    with zoom.client(heavy_daily_budget=2) as client:
        client.rest_get("/report/daily", category="heavy")
        client.rest_get("/metrics/meetings", category="resource_intensive")
        with pytest.raises(RateLimitError) as caught:
            client.rest_get("/report/daily", category="heavy")
        client.rest_get("/users", category="medium")
    assert caught.value.method == "GET" and caught.value.endpoint == "/v2/report/daily"
    assert "daily budget" in str(caught.value)
    assert len(zoom.requests) == 3
