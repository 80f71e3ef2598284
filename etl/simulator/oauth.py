"""Server-to-Server OAuth as Zoom does it:
``POST /oauth/token?grant_type=account_credentials&account_id=...``.

Basic auth carries the client id and secret; parameters may come in the query string or a form body. The
answer is Zoom's JSON (``access_token``, ``token_type: "bearer"``, ``expires_in``, ``scope``, ``api_url``). No
refresh token: a client asks again. Wrong credentials get Zoom's ``invalid_client`` body (HTTP 400, as Zoom
answers, not RFC 6749's 401). Tokens are random, live ``ttl`` seconds of *wall* time, and are never logged;
``invalidate_previous`` models the older Zoom behaviour where a new token killed the earlier ones.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

INVALID_TOKEN = {"code": 124, "message": "Invalid access token."}

# Every scope the REST routes and GraphQL can ask for (classic scopes); a config may grant fewer.
ALL_SCOPES = (
    "user:read:admin",
    "meeting:read:admin",
    "webinar:read:admin",
    "recording:read:admin",
    "report:read:admin",
    "dashboard_meetings:read:admin",
    "dashboard_webinars:read:admin",
    "meeting_summary:read:admin",
)


class TokenStore:
    """Issues and checks access tokens for one simulated app; thread-safe."""

    def __init__(
        self,
        *,
        account_id: str,
        client_id: str,
        client_secret: str,
        ttl: float,
        scopes: tuple[str, ...],
        invalidate_previous: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.account_id = account_id
        self._client_id = client_id
        self._client_secret = client_secret
        self.ttl = ttl
        self.scopes = scopes
        self.invalidate_previous = invalidate_previous
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}  # token -> monotonic expiry
        self.issued = 0

    def __repr__(self) -> str:  # never show the secret or the tokens
        return f"TokenStore(account_id={self.account_id!r}, live={len(self._tokens)})"

    def token_request(
        self, query: str, body: bytes, authorization: str | None, api_url: str
    ) -> tuple[int, dict]:
        """Answer one ``POST /oauth/token``: (HTTP status, JSON body)."""
        params = dict(parse_qsl(query))
        if body:
            params.update(parse_qsl(body.decode("latin-1")))
        if not self._credentials_ok(authorization):
            return 400, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}
        if params.get("grant_type") != "account_credentials":
            return 400, {"reason": "Unsupported grant type", "error": "unsupported_grant_type"}
        if params.get("account_id") != self.account_id:
            return 400, {"reason": "Invalid account_id", "error": "invalid_request"}
        token = secrets.token_urlsafe(48)
        with self._lock:
            if self.invalidate_previous:
                self._tokens.clear()
            now = self._monotonic()
            self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + self.ttl
            self.issued += 1
        return 200, {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": int(self.ttl),
            "scope": " ".join(self.scopes),
            "api_url": api_url,
        }

    def _credentials_ok(self, authorization: str | None) -> bool:
        if not authorization or not authorization.lower().startswith("basic "):
            return False
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        client_id, _, secret = decoded.partition(":")
        return secrets.compare_digest(client_id, self._client_id) and secrets.compare_digest(
            secret, self._client_secret
        )

    def valid(self, authorization: str | None) -> bool:
        """Whether an ``Authorization: Bearer ...`` header carries a live token."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return False
        token = authorization[7:].strip()
        with self._lock:
            expiry = self._tokens.get(token)
            if expiry is None:
                return False
            if expiry <= self._monotonic():
                del self._tokens[token]
                return False
            return True

    def expire_all(self) -> int:
        """Make every issued token invalid (the ``/_sim/tokens/expire`` control and the expiry fault)."""
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
            return count
