"""Fakes for the HTTP tests: a fake clock, settings, and a Zoom stand-in behind ``httpx.MockTransport``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import orjson

from etl.config import AccountSettings, Secret, Settings
from etl.http import ZoomClient

SECRET = "s3cr3t-Client-Secret-value"
API = "https://api.zoom.test"
OAUTH = "https://zoom.test/oauth/token"


class FakeClock:
    """Monotonic time that only moves when someone sleeps; records every sleep. Thread-safe."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def account(**changes: Any) -> AccountSettings:
    base = AccountSettings(
        account_id="acc-1",
        client_id="client-1",
        client_secret=Secret(SECRET),
        api_url=API,
        oauth_url=OAUTH,
        plan="business",
    )
    return replace(base, **changes)


def settings(**changes: Any) -> Settings:
    return replace(Settings(accounts=(account(),), rate_scale=1000.0), **changes)


Handler = Callable[[httpx.Request], httpx.Response]


class FakeZoom:
    """OAuth plus API routes; counts token requests and records API requests (thread-safe)."""

    def __init__(
        self, api: Handler, *, expires_in: int = 3600, api_url: str | None = None, date: str | None = None
    ) -> None:
        self.api = api
        self.expires_in = expires_in
        self.api_url = api_url
        self.date = date  # the token response's HTTP Date: Zoom's clock
        self.tokens_issued = 0
        self.requests: list[httpx.Request] = []
        self.token_gate: threading.Event | None = None  # when set, token requests wait on it
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            if self.token_gate is not None:
                self.token_gate.wait(10)
            with self._lock:
                self.tokens_issued += 1
                token = f"token-{self.tokens_issued}"
            body: dict[str, Any] = {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.expires_in,
            }
            if self.api_url:
                body["api_url"] = self.api_url
            return httpx.Response(200, json=body, headers={"Date": self.date} if self.date else None)
        with self._lock:
            self.requests.append(request)
        return self.api(request)

    def client(self, clock: FakeClock | None = None, **settings_changes: Any) -> ZoomClient:
        clock = clock or FakeClock()
        return ZoomClient(
            account(),
            settings(**settings_changes),
            transport=httpx.MockTransport(self),
            clock=clock,
            sleep=clock.sleep,
            rng=lambda: 0.5,
        )


def zoom_json(status: int, body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(
        status, content=orjson.dumps(body), headers={"Content-Type": "application/json", **headers}
    )


def bearer(request: httpx.Request) -> str:
    return request.headers.get("Authorization", "").removeprefix("Bearer ")
