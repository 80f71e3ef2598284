"""Server-to-Server OAuth: one access token per account per process, shared by every thread.

Zoom's S2S apps have no refresh token: a new token is requested with the app's credentials
(``POST {oauth_url}?grant_type=account_credentials&account_id=...`` with Basic auth). Tokens live an
hour; we take a new one shortly before expiry (a margin of 10% of the lifetime, at most 60 s) and when
Zoom refuses the current one (401 / code 124: older apps invalidate earlier tokens when a new one is made).

Single flight: when the token is missing or stale, the first thread fetches it under a lock and the others
wait for that fetch instead of starting their own; if it fails they all get the same error rather than
hammering the token endpoint one after another. ``invalidate(token)`` only drops the token it is given, so
twenty threads that all met a 401 with the same token cause one refresh, not twenty.

The token response's ``api_url`` (the account's regional API base) is followed only while the API base is
left at its default, and only to Zoom's own domains (``*.zoom.us``, ``*.zoomgov.com``, over https):
another host fails the token fetch with ``UntrustedApiUrl`` before the token is sent anywhere.

Neither the client secret nor a token appears in a log line or an exception: messages are built from the
account id, the endpoint path and Zoom's error text, with both values scrubbed from that text too.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
import orjson

from etl.config import DEFAULT_API_URL, ZOOM_DOMAINS, AccountSettings, check_url, is_zoom_host
from etl.errors import ApiError, AuthError, TransportError, UntrustedApiUrl
from etl.http.body import BodyTooLarge, PastDeadline, read
from etl.http.retry import RETRYABLE_EXCEPTIONS, Retry, RetryPolicy, is_retryable_status, run

log = logging.getLogger("etl.http")


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    refresh_at: float  # clock time after which we fetch a new one
    api_url: str | None
    server_date: datetime | None  # the token response's Date header: Zoom's clock, not ours
    issued_at: float  # our clock when the token was requested


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


class TokenProvider:
    """The access token of one account; thread-safe."""

    def __init__(
        self,
        account: AccountSettings,
        http: httpx.Client,
        policy: RetryPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_bytes: int = 1024 * 1024,
        deadline: float = 300.0,
    ) -> None:
        self._account = account
        self._max_bytes = max_bytes  # a token response is tiny: bounded like every body (etl.http.body)
        self._deadline = deadline
        self._http = http
        self._policy = policy
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._current: _Token | None = None
        self._generation = 0  # fetches started; tells a waiting thread that a fetch happened meanwhile
        self._failure: ApiError | None = None
        self.fetches = 0

    @property
    def api_url(self) -> str | None:
        """The regional API base from the last token response (``api_url``), if Zoom sent one."""
        current = self._current
        return current.api_url if current else None

    def server_now(self) -> datetime | None:
        """Zoom's clock now: the token response's HTTP ``Date`` plus the time elapsed since (None when
        the server sent no ``Date``)."""
        self.token()
        current = self._current
        if current is None or current.server_date is None:
            return None
        return current.server_date + timedelta(seconds=max(0.0, self._clock() - current.issued_at))

    def token(self) -> str:
        """A valid access token, fetched at most once at a time for all threads."""
        current = self._current
        if current is not None and self._clock() < current.refresh_at:
            return current.value
        generation = self._generation
        with self._lock:
            current = self._current
            if current is not None and self._clock() < current.refresh_at:
                return current.value
            if self._generation != generation and self._failure is not None:
                raise copy.copy(self._failure)  # the fetch we waited for failed: do not repeat it at once
            self._generation += 1
            try:
                fresh = self._fetch()
            except ApiError as exc:
                self._failure = exc
                raise
            self._failure = None
            self._current = fresh
            return fresh.value

    def invalidate(self, token: str) -> None:
        """Forget ``token`` (Zoom refused it) unless a newer one already replaced it."""
        with self._lock:
            if self._current is not None and self._current.value == token:
                self._current = None

    def _fetch(self) -> _Token:
        account = self._account
        endpoint = urlsplit(account.oauth_url).path or "/"
        secret = account.client_secret.reveal()

        def attempt() -> _Token:
            started = self._clock()
            try:
                request = self._http.build_request(
                    "POST",
                    account.oauth_url,
                    params={"grant_type": "account_credentials", "account_id": account.account_id},
                    headers={"Accept": "application/json"},
                )
                response = self._http.send(request, auth=(account.client_id, secret), stream=True)
                try:
                    content = read(
                        response, limit=self._max_bytes, deadline=started + self._deadline, clock=self._clock
                    )
                finally:
                    response.close()
            except BodyTooLarge as exc:
                raise TransportError(
                    f"token response for account {account.account_id}: body {exc.what}, over the limit"
                    " (ZOOM_ETL_MAX_RESPONSE_MB)",
                    method="POST",
                    endpoint=endpoint,
                ) from None
            except PastDeadline:
                error = TransportError(
                    f"token response for account {account.account_id} not complete within the"
                    f" {self._deadline:g} s request deadline",
                    method="POST",
                    endpoint=endpoint,
                )
                raise Retry(error) from None
            except RETRYABLE_EXCEPTIONS as exc:
                error = TransportError(
                    f"token request for account {account.account_id} failed: {type(exc).__name__}",
                    method="POST",
                    endpoint=endpoint,
                )
                raise Retry(error) from exc
            self.fetches += 1
            log.debug(
                "POST %s -> %s (token for account %s)", endpoint, response.status_code, account.account_id
            )
            if is_retryable_status(response.status_code):
                raise Retry(
                    TransportError(
                        f"token request for account {account.account_id} failed",
                        method="POST",
                        endpoint=endpoint,
                        status=response.status_code,
                    )
                )
            return self._parse(response, content, endpoint, started, secret)

        return run(attempt, self._policy, sleep=self._sleep)

    def _parse(
        self, response: httpx.Response, content: bytes, endpoint: str, started: float, secret: str
    ) -> _Token:
        account = self._account
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
            body = None
        if not isinstance(body, dict):
            body = {}
        if response.status_code != 200:
            reason = " ".join(str(body.get(k, "")) for k in ("error", "reason") if body.get(k))
            reason = _scrub(reason or "no reason given", secret)
            raise AuthError(
                f"token request for account {account.account_id} refused: {reason}",
                method="POST",
                endpoint=endpoint,
                status=response.status_code,
                code=body.get("code") if isinstance(body.get("code"), int) else None,
            )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthError(
                f"token response for account {account.account_id} has no access_token",
                method="POST",
                endpoint=endpoint,
                status=200,
            )
        expires_in = body.get("expires_in", 3600)
        if not isinstance(expires_in, int | float) or expires_in <= 0:
            expires_in = 3600
        api_url = body.get("api_url")
        if api_url is not None:
            problem = check_url(str(api_url)) if isinstance(api_url, str) else "must be a string"
            if problem:
                raise AuthError(
                    f"token response for account {account.account_id}: api_url {problem}",
                    method="POST",
                    endpoint=endpoint,
                )
            api_url = str(api_url).rstrip("/")
            host = urlsplit(api_url).hostname or ""
            if account.api_url == DEFAULT_API_URL and not (
                is_zoom_host(host) and api_url.startswith("https://")
            ):
                # The default base follows the token's regional api_url: only to Zoom's own domains, or
                # the bearer token would go wherever a token endpoint (or a proxy rewriting it) says.
                domains = ", ".join(f"*.{d}" for d in ZOOM_DOMAINS)
                raise UntrustedApiUrl(
                    f"token response for account {account.account_id}: api_url host {host!r} is not Zoom's"
                    f" ({domains}); the token is not sent there. Set ZOOM_API_URL (or api_url) to use"
                    " that host",
                    method="POST",
                    endpoint=endpoint,
                )
        margin = min(60.0, expires_in * 0.1)
        return _Token(
            value=token,
            refresh_at=started + expires_in - margin,
            api_url=api_url,
            server_date=_http_date(response.headers.get("date")),
            issued_at=started,
        )


def _scrub(text: str, *secrets: str) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
