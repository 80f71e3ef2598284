"""``ZoomClient``: the one seam between zoom-etl and the network.

Every request to Zoom goes through one client per account, which holds that account's token, rate limiter
and connection pool. A request is: wait for a slot in its rate-limit category, attach the token, send,
then either return the response, or ask the retry loop for another attempt, or raise the ``etl.errors``
exception that says what went wrong (with method, endpoint, HTTP status and Zoom's ``code``):

    401 / code 124 after one token refresh       AuthError
    code 4700 / 4711 (a scope is missing)        ScopeError (an AuthError)
    404, codes 1001, 1010, 3000, 3001, 3161,     ResourceError (skipped and recorded by the caller)
    12702, and 300 on a first page
    429 that cannot be waited out (daily)        RateLimitError
    5xx and network failures, retries exhausted  TransportError
    a body past the deadline, retries exhausted  TransportError
    a body larger than max_response_bytes        ResponseTooLarge (a TransportError, not retried)
    any other 4xx                                ApiError (``code`` kept: 300 on a later page = expired
                                                 page token, which the paginator restarts from)

Paths reach the server byte for byte: callers percent-encode path segments themselves (a UUID that starts
with ``/`` is double-encoded, ``%252F...``) and httpx keeps existing escapes as they are.

Bodies are read and parsed once, here (``etl.http.body``): streamed, and stopped past
``max_response_bytes`` (``ResponseTooLarge``, not retried) or past the attempt's ``request_deadline``
(retried like a timeout). A 2xx body that is empty or not JSON even read leniently is a lost transfer and
is retried; one that only a lenient reading could parse is ``repaired`` (its sources screen its records).
``Response.json()`` then hands back the parsed value without decoding again.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from etl import __version__
from etl.config import DEFAULT_API_URL, AccountSettings, Settings, is_loopback
from etl.errors import (
    ApiError,
    AuthError,
    RateLimitError,
    ResourceError,
    ResponseTooLarge,
    ScopeError,
    TransportError,
)
from etl.http.auth import TokenProvider
from etl.http.body import BodyTooLarge, NotJson, PastDeadline, TooDeep, decode, read
from etl.http.ratelimit import RateLimiter, normalize_category
from etl.http.retry import RETRYABLE_EXCEPTIONS, Retry, RetryPolicy, parse_retry_after, run

log = logging.getLogger("etl.http")

# Zoom's OpenAPI documents these for one user, meeting or webinar (not the account): 1001 user not found,
# 1010 user not in this account, 1120 a pending user's invitation expired (the user by email), 3000
# webinar without registration (absentees), 3001 meeting or webinar not found, 3161 user without a meeting
# license (their meeting listing), 12702 older than a year.
RESOURCE_CODES = frozenset({1001, 1010, 1120, 3000, 3001, 3161, 12702})
# 300 is Zoom's "invalid request": on a follow-up page an expired page token (``etl.sources.paginate``
# restarts the listing), on a first page one resource out of reach ("Cannot access meeting information",
# an invalid occurrence, a daily report month outside the last six months).
FIRST_PAGE_RESOURCE_CODES = frozenset({300})
SCOPE_CODES = frozenset({4700, 4711})
_UNPARSED: Any = object()
_LITERAL_SEGMENT = re.compile(r"^[a-z_]+$")


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: httpx.Headers
    content: bytes
    url: str  # path + query only: safe to log
    _parsed: Any = field(default=_UNPARSED, repr=False, compare=False)
    repaired: bool = False  # only a lenient reading parsed it: its records need ``etl.http.body.screen``

    def json(self) -> Any:
        """The decoded body (``orjson.loads(self.content)``), decoded once by the client."""
        if self._parsed is not _UNPARSED:
            return self._parsed
        return orjson.loads(self.content)


@dataclass(frozen=True, slots=True)
class RequestStats:
    """Counts since the client was made. ``requests`` counts HTTP requests sent to the API (retries
    included, token requests excluded); ``by_endpoint`` keys are path templates (``/v2/users/{id}/...``)."""

    requests: int = 0
    by_category: Mapping[str, int] = field(default_factory=dict)
    units_by_category: Mapping[str, int] = field(default_factory=dict)
    by_endpoint: Mapping[str, int] = field(default_factory=dict)
    retries: int = 0
    throttled: int = 0  # 429 responses
    server_errors: int = 0  # 5xx responses
    network_errors: int = 0  # timeouts, resets, truncated bodies
    errors: int = 0  # requests that ended in an exception
    token_fetches: int = 0
    wait_seconds: float = 0.0  # time spent waiting for rate-limit slots


def endpoint_template(path: str) -> str:
    """``/v2/users/KDcu.../meetings`` -> ``/v2/users/{id}/meetings``: a bounded key for statistics."""
    parts = path.split("?", 1)[0].split("/")
    return "/".join(p if not p or p in ("v2", "v3") or _LITERAL_SEGMENT.match(p) else "{id}" for p in parts)


MAX_TOKEN_REFRESHES = 5  # per request: distinct tokens refused before the refusal is final


class ZoomClient:
    """One per account; thread-safe. Auth, per-category rate limits and retries live here and only here."""

    def __init__(
        self,
        account: AccountSettings,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        limiter: RateLimiter | None = None,
        policy: RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._account = account
        self._policy = policy or RetryPolicy(
            max_attempts=settings.retry_attempts, max_total=settings.retry_max_seconds
        )
        self._sleep = sleep
        self._rng = rng
        self._clock = clock
        self._max_bytes = settings.max_response_bytes
        self._deadline = settings.request_deadline
        self._read_timeout = settings.timeouts.read
        pool = settings.max_concurrency + 4  # + room for token requests
        timeouts = settings.timeouts
        hosts = [urlsplit(account.api_url).hostname or "", urlsplit(account.oauth_url).hostname or ""]
        self._http = httpx.Client(
            transport=transport,
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            timeout=httpx.Timeout(
                connect=timeouts.connect, read=timeouts.read, write=timeouts.write, pool=timeouts.pool
            ),
            headers={"User-Agent": f"zoom-etl/{__version__}", "Accept": "application/json"},
            follow_redirects=False,  # a redirect would carry the bearer token elsewhere
            trust_env=not all(is_loopback(h) for h in hosts),  # no proxy between us and the simulator
        )
        self._auth = TokenProvider(
            account,
            self._http,
            self._policy,
            clock=clock,
            sleep=sleep,
            max_bytes=settings.max_response_bytes,
            deadline=settings.request_deadline,
        )
        self.limiter = limiter or RateLimiter.for_plan(
            account.plan,
            share=settings.rate_share,
            scale=settings.rate_scale,
            heavy_daily_budget=settings.heavy_daily_budget,
            clock=clock,
            sleep=sleep,
        )
        self._stats_lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._by_category: Counter[str] = Counter()
        self._units: Counter[str] = Counter()
        self._by_endpoint: Counter[str] = Counter()
        self._wait = 0.0

    @property
    def account(self) -> AccountSettings:
        return self._account

    @property
    def api_url(self) -> str:
        """The API base in use: the token's regional ``api_url`` replaces the default global base; an
        explicitly configured base (a proxy, the simulator) is kept."""
        regional = self._auth.api_url
        if regional and self._account.api_url == DEFAULT_API_URL:
            return regional
        return self._account.api_url

    def server_now(self) -> datetime:
        """Zoom's idea of now: the ``Date`` of the token response, advanced by the time since then.

        Date windows ("the last 6 months", "up to today") are Zoom's, so they are computed on Zoom's clock;
        a local clock that is off, or a simulator whose clock was advanced, then changes nothing. Falls back
        to the local clock when the server sends no ``Date``."""
        return self._auth.server_now() or datetime.now(UTC)

    def rest_get(
        self, path: str, params: Mapping[str, str | int] | None = None, *, category: str
    ) -> Response:
        """GET ``{api_url}/v2{path}``; ``path`` segments are already percent-encoded by the caller."""
        if not path.startswith("/") or "?" in path or "#" in path:
            raise ValueError(f"path must start with '/' and carry no query: {path!r}")
        return self._request("GET", f"/v2{path}", params=params, content=None, category=category, units=1)

    def graphql(self, query: str, variables: Mapping[str, Any], *, category: str, units: int = 1) -> Response:
        """POST ``{api_url}/v3/graphql``. A 200 is returned even when its body has ``errors``."""
        body = orjson.dumps({"query": query, "variables": dict(variables)})
        return self._request("POST", "/v3/graphql", params=None, content=body, category=category, units=units)

    def access_token(self) -> str:
        """The account's current access token, for ``etl.http.files`` (a download URL's own host only)."""
        return self._auth.token()

    def invalidate_token(self, token: str) -> None:
        self._auth.invalidate(token)

    @property
    def http(self) -> httpx.Client:
        """The connection pool (redirects never followed): ``etl.http.files`` streams files through it."""
        return self._http

    def count_request(self, category: str, endpoint: str, waited: float) -> None:
        """Count a request sent outside ``_request`` (a file download) in ``stats``."""
        with self._stats_lock:
            self._by_category[category] += 1
            self._units[category] += 1
            self._by_endpoint[endpoint] += 1
            self._wait += waited

    @property
    def stats(self) -> RequestStats:
        with self._stats_lock:
            return RequestStats(
                requests=sum(self._by_category.values()),
                by_category=dict(self._by_category),
                units_by_category=dict(self._units),
                by_endpoint=dict(self._by_endpoint),
                retries=self._counts["retries"],
                throttled=self._counts["throttled"],
                server_errors=self._counts["server_errors"],
                network_errors=self._counts["network_errors"],
                errors=self._counts["errors"],
                token_fetches=self._auth.fetches,
                wait_seconds=self._wait,
            )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ZoomClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _count(self, key: str) -> None:
        with self._stats_lock:
            self._counts[key] += 1

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None,
        content: bytes | None,
        category: str,
        units: int,
    ) -> Response:
        category = normalize_category(category)
        endpoint = endpoint_template(path)
        refused: set[str] = set()  # tokens Zoom refused during this request
        attempt_no = 0

        def attempt() -> Response:
            nonlocal attempt_no
            attempt_no += 1
            try:
                waited = self.limiter.acquire(category, units)
            except RateLimitError as exc:
                raise RateLimitError(str(exc), method=method, endpoint=path) from None
            token = self._auth.token()
            headers = {"Authorization": f"Bearer {token}"}
            if content is not None:
                headers["Content-Type"] = "application/json"
            deadline = self._deadline
            timeout = self._http.timeout
            if timeout.read is None or timeout.read > deadline:  # a silent server cannot outlast it
                timeout = httpx.Timeout(
                    connect=timeout.connect, read=deadline, write=timeout.write, pool=timeout.pool
                )
            request = self._http.build_request(
                method,
                f"{self.api_url}{path}",
                params=params,
                content=content,
                headers=headers,
                timeout=timeout,
            )
            url = request.url.raw_path.decode("ascii")
            with self._stats_lock:
                self._by_category[category] += 1
                self._units[category] += units
                self._by_endpoint[endpoint] += 1
                self._wait += waited
            started = time.perf_counter()
            try:
                response = self._http.send(request, stream=True)
                try:
                    body = self._read(response, self._clock() + self._deadline, method, path)
                finally:
                    response.close()
            except RETRYABLE_EXCEPTIONS as exc:
                self._count("network_errors")
                log.debug("%s %s -> %s (attempt %d)", method, url, type(exc).__name__, attempt_no)
                failure = TransportError(
                    f"network failure: {type(exc).__name__}", method=method, endpoint=path
                )
                raise Retry(failure) from exc
            status = response.status_code
            if log.isEnabledFor(logging.DEBUG):
                elapsed = time.perf_counter() - started
                log.debug("%s %s -> %d in %.3fs (attempt %d)", method, url, status, elapsed, attempt_no)
            self.limiter.observe(category, response.headers)
            if 200 <= status < 300:
                return self._success(response, body, url, method, path)
            code, message = _zoom_error(body)

            def fail(kind: type[ApiError], text: str) -> ApiError:
                return kind(text, method=method, endpoint=path, status=status, code=code)

            if status == 429:
                self._count("throttled")
                error = fail(RateLimitError, message or "rate limited")
                # A date in Retry-After is on Zoom's clock (daily limits reset at its midnight), not ours.
                delay = parse_retry_after(response.headers.get("retry-after"), now=self.server_now())
                daily = "daily" in response.headers.get("x-ratelimit-type", "").lower()
                if daily or "daily" in message.lower() or (delay or 0) > self._policy.max_retry_after:
                    raise error
                self.limiter.pause(category, 1.0 if delay is None else delay)
                raise Retry(error, throttled=True)
            if status >= 500:
                self._count("server_errors")
                raise Retry(fail(TransportError, message or "server error"))
            if code in SCOPE_CODES:
                raise fail(ScopeError, message or "missing scope")
            if status == 401 or code == 124:
                error = fail(AuthError, message or "access token refused")
                # A token refused twice is a real refusal; a fresh one refused is worth one more try
                # (tokens can expire again while a request waits for its rate-limit slot), up to a bound.
                if token in refused or len(refused) >= MAX_TOKEN_REFRESHES:
                    raise error
                refused.add(token)
                self._auth.invalidate(token)
                raise Retry(error, immediate=True)
            first_page = method == "GET" and not (params or {}).get("next_page_token")
            if status == 404 or code in RESOURCE_CODES or (first_page and code in FIRST_PAGE_RESOURCE_CODES):
                raise fail(ResourceError, message or "not found")
            raise fail(ApiError, message or "request refused")

        def on_retry(retry: Retry, delay: float) -> None:
            self._count("retries")
            log.debug("%s %s: retrying in %.2fs after: %s", method, path, delay, retry.error)

        try:
            return run(attempt, self._policy, sleep=self._sleep, rng=self._rng, on_retry=on_retry)
        except ApiError:
            self._count("errors")
            raise

    def _read(self, response: httpx.Response, deadline: float, method: str, path: str) -> bytes:
        """The whole body, or an error as soon as it is too large or the attempt's deadline has passed."""
        try:
            return read(response, limit=self._max_bytes, deadline=deadline, clock=self._clock)
        except BodyTooLarge as exc:
            raise self._too_large(method, path, response.status_code, exc.what) from None
        except PastDeadline:
            self._count("network_errors")
            error = TransportError(
                f"response not complete within the {self._deadline:g} s request deadline"
                " (ZOOM_ETL_REQUEST_DEADLINE)",
                method=method,
                endpoint=path,
                status=response.status_code,
            )
            raise Retry(error) from None

    def _too_large(self, method: str, path: str, status: int, what: str) -> ResponseTooLarge:
        return ResponseTooLarge(
            f"response body {what}, over the {self._max_bytes / 1024 / 1024:g} MB limit"
            " (ZOOM_ETL_MAX_RESPONSE_MB)",
            method=method,
            endpoint=path,
            status=status,
        )

    def _success(
        self, response: httpx.Response, content: bytes, url: str, method: str, path: str
    ) -> Response:
        try:  # every Zoom API answer is a JSON body: an empty one is a lost transfer too
            parsed, repaired = decode(content)
        except TooDeep:  # as deep again next time: not retried
            raise TransportError(
                "response body nested too deep to read (over about 1,000 levels)",
                method=method,
                endpoint=path,
                status=response.status_code,
            ) from None
        except NotJson:
            self._count("network_errors")
            error = TransportError(
                "response body is empty or not valid JSON (truncated?)",
                method=method,
                endpoint=path,
                status=response.status_code,
            )
            raise Retry(error) from None
        if repaired:
            log.warning(
                "%s %s: body readable only leniently; its records are screened one by one", method, url
            )
        return Response(
            status=response.status_code,
            headers=response.headers,
            content=content,
            url=url,
            _parsed=parsed,
            repaired=repaired,
        )


def _zoom_error(content: bytes) -> tuple[int | None, str]:
    """Zoom's ``{"code": ..., "message": ...}`` error body, if it is one."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    code = body.get("code")
    message = body.get("message")
    return (code if isinstance(code, int) and not isinstance(code, bool) else None), (
        " ".join(str(message).split())[:300] if message else ""
    )
