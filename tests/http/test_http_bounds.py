"""The client's bounds at the transport seam: a body too large, an attempt past its deadline, a body only a
lenient reading parses, and a token ``api_url`` outside Zoom's domains (``etl.http.body``, ``etl.http.auth``).
The hostile-server tests (tests/reliability/test_rel_hostile.py) run the same cases over loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from zoomfakes import FakeClock, FakeZoom, account, settings, zoom_json

from etl.config import DEFAULT_API_URL, is_zoom_host
from etl.errors import EXIT_USAGE, ResponseTooLarge, TransportError, UntrustedApiUrl
from etl.http import ZoomClient
from etl.http.body import decode, screen
from etl.records import Unreadable


class Endless(httpx.SyncByteStream):
    """A body that never ends; counts the bytes handed out."""

    def __init__(self, chunk: bytes = b"a" * 65536) -> None:
        self.chunk = chunk
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        while True:
            self.sent += len(self.chunk)
            yield self.chunk


def test_an_endless_body_stops_at_the_size_limit_and_is_not_retried() -> None:
    body = Endless()
    zoom = FakeZoom(lambda request: httpx.Response(200, stream=body))
    with (
        zoom.client(max_response_bytes=1_048_576) as client,
        pytest.raises(ResponseTooLarge, match="over the 1 MB limit"),
    ):
        client.rest_get("/users", category="medium")
    assert 1_048_576 < body.sent <= 1_048_576 + 65536  # read up to the limit, no further
    assert len(zoom.requests) == 1  # as large again the next time: not retried


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    body = Endless()
    headers = {"Content-Length": str(2 * 1024**3)}
    zoom = FakeZoom(lambda request: httpx.Response(200, headers=headers, stream=body))
    with (
        zoom.client(max_response_bytes=1_048_576) as client,
        pytest.raises(ResponseTooLarge, match="declares 2,147,483,648 bytes"),
    ):
        client.rest_get("/users", category="medium")
    assert body.sent == 0


def test_a_trickling_body_ends_at_the_request_deadline_then_retries_run_out() -> None:
    clock = FakeClock()

    class Trickle(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            while True:
                clock.advance(5.0)  # one byte every 5 s, forever
                yield b" "

    zoom = FakeZoom(lambda request: httpx.Response(200, stream=Trickle()))
    with (
        zoom.client(clock, request_deadline=60.0, retry_attempts=3) as client,
        pytest.raises(TransportError, match="not complete within the 60 s request deadline"),
    ):
        client.rest_get("/users", category="medium")
    assert len(zoom.requests) == 3  # each attempt cut at its deadline, then retried like a timeout


@pytest.mark.parametrize(
    "name", [b"Ren\xe9 \xff", b"Bad \\ud800 name"], ids=["invalid UTF-8", "lone surrogate"]
)
def test_a_body_only_a_lenient_reading_parses_is_marked_and_its_bad_record_screened(name: bytes) -> None:
    raw = b'{"users": [{"id": "a", "first_name": "' + name + b'"}, {"id": "b", "first_name": "Bo"}]}'
    zoom = FakeZoom(lambda request: httpx.Response(200, content=raw))
    with zoom.client() as client:
        response = client.rest_get("/users", category="medium")
    assert response.repaired
    records = screen(response.json()["users"])
    assert isinstance(records[0], Unreadable) and "UTF-8" in records[0].reason
    assert '"id":"a"' in records[0] and "\ufffd" in records[0]  # the payload, made storable
    assert records[1] == {"id": "b", "first_name": "Bo"}
    assert len(zoom.requests) == 1  # not taken for a truncated transfer and retried


def test_nesting_orjson_cannot_write_back_is_screened() -> None:
    deep = b'{"x": ' * 900 + b"1" + b"}" * 900
    parsed, repaired = decode(b'{"users": [{"id": "a", "c": ' + deep + b'}, {"id": "b"}]}')
    assert repaired
    records = screen(parsed["users"])
    assert isinstance(records[0], Unreadable) and "nested too deep" in records[0].reason
    assert records[1] == {"id": "b"}


def test_a_clean_body_is_not_marked_and_garbage_is_still_a_lost_transfer() -> None:
    assert decode(b'{"users": [{"id": "a"}]}') == ({"users": [{"id": "a"}]}, False)
    zoom = FakeZoom(lambda request: httpx.Response(200, content=b'{"users": [{"id": "a\xff"'))
    with zoom.client(retry_attempts=2) as client, pytest.raises(TransportError, match="truncated"):
        client.rest_get("/users", category="medium")
    assert len(zoom.requests) == 2


@pytest.mark.parametrize(
    "api_url",
    ["https://api-eu.zoom.test", "https://zoom.us.evil.example", "https://evilzoom.us"],
)
def test_a_foreign_api_url_with_the_default_base_is_refused_before_the_token_is_sent(api_url: str) -> None:
    zoom = FakeZoom(lambda request: zoom_json(200, {"users": []}), api_url=api_url)
    client = ZoomClient(
        account(api_url=DEFAULT_API_URL),
        settings(),
        transport=httpx.MockTransport(zoom),
        sleep=lambda s: None,
    )
    with client, pytest.raises(UntrustedApiUrl, match="is not Zoom's") as raised:
        client.rest_get("/users", category="light")
    assert raised.value.exit_code == EXIT_USAGE
    assert zoom.requests == []  # no API request at all, so the token went nowhere


def test_an_explicit_base_ignores_the_token_api_url() -> None:
    zoom = FakeZoom(lambda request: zoom_json(200, {"users": []}), api_url="https://api-eu.zoom.test")
    with zoom.client() as client:  # the base is set (https://api.zoom.test): the token's api_url is not used
        client.rest_get("/users", category="light")
    assert zoom.requests[0].url.host == "api.zoom.test"


def test_zoom_hosts() -> None:
    assert all(
        map(is_zoom_host, ["zoom.us", "api.zoom.us", "us06web.zoom.us", "api.zoomgov.com", "API.ZOOM.US."])
    )
    assert not any(
        map(is_zoom_host, ["evilzoom.us", "zoom.us.evil.example", "zoomgov.com.example", "127.0.0.1"])
    )


def test_an_endless_token_response_is_bounded_too() -> None:
    body = Endless()
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, stream=body)

    client = ZoomClient(
        account(),
        settings(max_response_bytes=1_048_576),
        transport=httpx.MockTransport(handler),
        sleep=lambda s: None,
    )
    with client, pytest.raises(TransportError, match="token response for account acc-1: body passed"):
        client.rest_get("/users", category="light")
    assert sent == ["/oauth/token"] and body.sent <= 1_048_576 + 65536


def test_a_body_nested_deeper_than_any_reading_fails_at_once_not_as_a_truncated_transfer() -> None:
    deep = b'{"x": ' * 3000 + b"1" + b"}" * 3000
    zoom = FakeZoom(lambda request: httpx.Response(200, content=b'{"users": [' + deep + b"]}"))
    with zoom.client() as client, pytest.raises(TransportError, match="nested too deep to read"):
        client.rest_get("/users", category="medium")
    assert len(zoom.requests) == 1
