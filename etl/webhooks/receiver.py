"""The webhook receiver as a plain ASGI application (no framework: one route, a few status codes).

What a delivery gets:

- 200: a verified event, stored in the spool before answering (``{"status": "stored"}``), or already
  there (``"duplicate"``: a retry or a second delivery of the same event); a verified
  ``endpoint.url_validation`` challenge, answered with its ``encryptedToken``;
- 400: the signature is right but the body is not a JSON object with an ``event`` name (or a challenge
  lacks its ``plainToken``);
- 401: no ``x-zm-signature`` / ``x-zm-request-timestamp``, a wrong signature, or a timestamp further
  than the tolerance from now (stale or from the future);
- 404 / 405: another path / another method than POST (``GET /healthz`` answers 200);
- 409: a replay: this very signed request was accepted before, within the tolerance;
- 413: a body larger than the limit (by ``Content-Length`` or as it streams);
- 500: the spool could not be written (disk full...): Zoom retries 5xx, so nothing is lost.

Order of checks: size, then signature (nothing unauthenticated is parsed), then JSON. The secret and the
signature are never logged; a line per delivery says the event, its id, the outcome and the delivery lag.
Writing to the spool (``fsync``) runs on a worker thread, so slow storage never stalls the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from etl.config.model import Secret
from etl.webhooks.signature import signature_matches, url_validation
from etl.webhooks.spool import Spool

log = logging.getLogger("etl.webhooks")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ReceiverOptions:
    secret: Secret
    path: str = "/webhooks/zoom"
    tolerance_seconds: float = 300.0
    max_body_bytes: int = 1024 * 1024
    replay_entries: int = 100_000  # signatures remembered (for ``tolerance_seconds`` each)


class ReplayCache:
    """Signatures accepted within the tolerance window; a second request carrying one is a replay. A
    request older than the window is refused as stale anyway, so entries expire with it."""

    def __init__(self, seconds: float, size: int) -> None:
        self.seconds, self.size = seconds, size
        self._seen: OrderedDict[str, float] = OrderedDict()

    def seen(self, signature: str, now: float) -> bool:
        while self._seen and next(iter(self._seen.values())) < now:
            self._seen.popitem(last=False)
        if signature in self._seen:
            return True
        self._seen[signature] = now + self.seconds
        if len(self._seen) > self.size:
            self._seen.popitem(last=False)
        return False

    def forget(self, signature: str) -> None:
        self._seen.pop(signature, None)


class Receiver:
    """``Receiver(options, spool)`` is an ASGI app; ``clock`` (Unix seconds) is injectable for tests."""

    def __init__(self, options: ReceiverOptions, spool: Spool, *, clock: Callable[[], float] = time.time):
        self.options, self.spool, self.clock = options, spool, clock
        self.replays = ReplayCache(options.tolerance_seconds, options.replay_entries)
        self.counts: dict[str, int] = {}
        spool.ensure()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        status, body = await self._handle(scope, receive)
        self.counts[str(status)] = self.counts.get(str(status), 0) + 1
        payload = orjson.dumps(body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _handle(self, scope: Scope, receive: Receive) -> tuple[int, dict[str, Any]]:
        method, path = scope["method"], scope["path"]
        if path == "/healthz" and method in ("GET", "HEAD"):
            return 200, {"status": "ok", "spooled": len(self.spool)}
        if path != self.options.path:
            return 404, {"error": "not found"}
        if method != "POST":
            return 405, {"error": "only POST"}
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw = await _read_body(receive, headers, self.options.max_body_bytes)
        if raw is None:
            log.warning("webhook refused: body over %d bytes", self.options.max_body_bytes)
            return 413, {"error": f"body larger than {self.options.max_body_bytes} bytes"}
        timestamp = headers.get("x-zm-request-timestamp", "")
        signature = headers.get("x-zm-signature", "")
        if not timestamp or not signature:
            log.warning("webhook refused: unsigned request")
            return 401, {"error": "missing x-zm-signature or x-zm-request-timestamp"}
        now = self.clock()
        if not timestamp.isdigit():
            return 401, {"error": "x-zm-request-timestamp is not Unix seconds"}
        lag = now - int(timestamp)
        if abs(lag) > self.options.tolerance_seconds:
            log.warning(
                "webhook refused: timestamp %.0f s from now (tolerance %g s)",
                lag,
                self.options.tolerance_seconds,
            )
            return 401, {"error": "stale or future timestamp"}
        if not signature_matches(self.options.secret.reveal(), timestamp, raw, signature):
            log.warning("webhook refused: wrong signature")
            return 401, {"error": "wrong signature"}
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return 400, {"error": "body is not JSON"}
        if not isinstance(body, dict) or not isinstance(body.get("event"), str) or not body["event"]:
            return 400, {"error": "body is not a Zoom event (a JSON object with an event name)"}
        if body["event"] == "endpoint.url_validation":
            token = (
                (body.get("payload") or {}).get("plainToken")
                if isinstance(body.get("payload"), dict)
                else None
            )
            if not isinstance(token, str) or not token:
                return 400, {"error": "endpoint.url_validation without payload.plainToken"}
            log.info("webhook endpoint.url_validation answered")
            return 200, url_validation(self.options.secret.reveal(), token)
        if self.replays.seen(signature, now):
            log.warning("webhook refused: replayed request (%s)", body["event"])
            return 409, {"error": "replayed request"}
        received = datetime.fromtimestamp(now, UTC)
        try:
            ident, stored = await asyncio.to_thread(
                self.spool.put, body, received_at=received, tracking_id=headers.get("x-zm-trackingid", "")
            )
        except OSError as exc:
            self.replays.forget(signature)  # Zoom retries a 5xx: that retry must not count as a replay
            log.error("webhook %s not stored: %s", body["event"], exc)
            return 500, {"error": "could not store the event"}
        ts = body.get("event_ts")
        delay = now - ts / 1000 if isinstance(ts, int | float) else float("nan")
        client = scope.get("client") or ("?", 0)  # behind a trusted proxy: X-Forwarded-For's address
        log.info(
            "webhook %s %s %s from %s (delivered %.1f s after the event, signed %.1f s ago)",
            body["event"],
            ident,
            "stored" if stored else "duplicate",
            client[0],
            delay,
            lag,
        )
        return 200, {"status": "stored" if stored else "duplicate", "id": ident}


async def _read_body(receive: Receive, headers: dict[str, str], limit: int) -> bytes | None:
    """The whole body, or None once it is known to exceed ``limit`` bytes (Content-Length first)."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
