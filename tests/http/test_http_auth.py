"""TokenProvider: the token request, expiry, single flight, failures without secrets."""

from __future__ import annotations

import base64
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from zoomfakes import OAUTH, SECRET, FakeClock, account, zoom_json

from etl.errors import AuthError, TransportError
from etl.http import RetryPolicy, TokenProvider


def provider(handler, clock: FakeClock | None = None, **policy: int) -> TokenProvider:  # type: ignore[no-untyped-def]
    clock = clock or FakeClock()
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return TokenProvider(account(), http, RetryPolicy(**policy), clock=clock, sleep=clock.sleep)


def test_token_request_is_account_credentials_with_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return zoom_json(200, {"access_token": "tok", "expires_in": 3600, "token_type": "bearer"})

    auth = provider(handler)
    assert auth.token() == "tok"
    assert auth.token() == "tok"
    (request,) = seen
    assert request.method == "POST" and str(request.url).startswith(OAUTH)
    assert dict(request.url.params) == {"grant_type": "account_credentials", "account_id": "acc-1"}
    expected = base64.b64encode(f"client-1:{SECRET}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_short_lived_tokens_use_a_proportional_margin() -> None:
    clock = FakeClock()
    issued = []

    def handler(request: httpx.Request) -> httpx.Response:
        issued.append(1)
        return zoom_json(200, {"access_token": f"t{len(issued)}", "expires_in": 10})

    auth = provider(handler, clock)
    assert auth.token() == "t1"
    clock.advance(8.5)  # margin is 10% of 10 s
    assert auth.token() == "t1"
    clock.advance(0.6)
    assert auth.token() == "t2"


def test_invalidate_drops_only_the_refused_token() -> None:
    issued = []

    def handler(request: httpx.Request) -> httpx.Response:
        issued.append(1)
        return zoom_json(200, {"access_token": f"t{len(issued)}", "expires_in": 3600})

    auth = provider(handler)
    old = auth.token()
    auth.invalidate(old)
    new = auth.token()
    auth.invalidate(old)  # a late 401 for the old token does not throw the new one away
    assert (old, new, auth.token(), len(issued)) == ("t1", "t2", "t2", 2)


def test_failed_fetch_is_shared_by_waiting_threads() -> None:
    gate = threading.Event()
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        gate.wait(10)
        return zoom_json(400, {"error": "invalid_client", "reason": "Invalid client_id or client_secret"})

    auth = provider(handler)
    with ThreadPoolExecutor(10) as pool:
        futures = [pool.submit(auth.token) for _ in range(10)]
        gate.set()
        errors = [f.exception() for f in futures]
    assert all(isinstance(e, AuthError) for e in errors)
    assert len(calls) < 10  # threads that waited for the failed fetch did not each repeat it
    assert all("invalid_client" in str(e) and SECRET not in str(e) for e in errors)


def test_oauth_5xx_and_network_errors_are_retried() -> None:
    outcomes = iter(["503", "reset", "ok"])

    def handler(request: httpx.Request) -> httpx.Response:
        outcome = next(outcomes)
        if outcome == "reset":
            raise httpx.ConnectError("reset", request=request)
        if outcome == "503":
            return zoom_json(503, {})
        return zoom_json(200, {"access_token": "tok", "expires_in": 3600})

    assert provider(handler).token() == "tok"


def test_oauth_unreachable_is_transport_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TransportError, match="token request for account acc-1 failed: ConnectError"):
        provider(handler, max_attempts=2).token()


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"expires_in": 3600}, "no access_token"),
        ({"access_token": "t", "api_url": "http://evil.example"}, "api_url plain http"),
    ],
)
def test_bad_token_responses_are_auth_errors(body: dict[str, object], match: str) -> None:
    with pytest.raises(AuthError, match=match):
        provider(lambda r: zoom_json(200, body)).token()


def test_regional_api_url_is_kept() -> None:
    auth = provider(lambda r: zoom_json(200, {"access_token": "t", "api_url": "https://api-eu.zoom.us/"}))
    auth.token()
    assert auth.api_url == "https://api-eu.zoom.us"
