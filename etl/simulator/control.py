"""The simulator's own endpoints under ``/_sim/`` (clearly not Zoom), and the request statistics they show.

No authentication: the server only binds to loopback. Bodies are JSON.

| method | path                      | does |
|--------|---------------------------|------|
| GET    | /_sim/stats               | counts by endpoint template, category, status; 429s; faults |
| POST   | /_sim/stats/reset         | zero the counters |
| GET    | /_sim/clock               | ``{"now": "...Z"}`` |
| POST   | /_sim/clock               | ``{"now": iso}``, ``{"advance_days": n}``, ``{"advance_seconds": n}`` |
| GET    | /_sim/faults              | the fault knobs and what was injected so far |
| POST   | /_sim/faults              | change knobs, e.g. ``{"error_rate": 0.1, "storm_requests": 20}`` |
| POST   | /_sim/tokens/expire       | invalidate every access token issued so far |
| POST   | /_sim/page_tokens/expire  | invalidate every REST ``next_page_token`` issued so far |
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson

from etl.simulator.clock import SimClock
from etl.simulator.faults import FaultInjector
from etl.simulator.oauth import TokenStore
from etl.simulator.ratelimit import RateLimiter
from etl.simulator.rest.paging import PageTokens


class Stats:
    """Request counters; thread-safe. ``charged``/``refused`` count rate-limit units (GraphQL: per field)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.by_endpoint: Counter[str] = Counter()
            self.by_category: Counter[str] = Counter()
            self.by_status: Counter[str] = Counter()
            self.charged: Counter[str] = Counter()
            self.refused: Counter[str] = Counter()
            self.rate_limited = 0

    def record(self, endpoint: str, category: str | None, status: int) -> None:
        with self._lock:
            self.requests += 1
            self.by_endpoint[endpoint] += 1
            if category:
                self.by_category[category] += 1
            self.by_status[str(status)] += 1
            if status == 429:
                self.rate_limited += 1

    def units(self, category: str, units: int, allowed: bool) -> None:
        with self._lock:
            (self.charged if allowed else self.refused)[category] += units

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {
                "requests": self.requests,
                "by_endpoint": dict(sorted(self.by_endpoint.items())),
                "by_category": dict(sorted(self.by_category.items())),
                "by_status": dict(sorted(self.by_status.items())),
                "rate_limited": self.rate_limited,
                "units_charged": dict(sorted(self.charged.items())),
                "units_refused": dict(sorted(self.refused.items())),
            }


@dataclass
class Control:
    """Everything the control endpoints may touch."""

    stats: Stats
    clock: SimClock
    faults: FaultInjector
    tokens: TokenStore
    pages: PageTokens
    limiter: RateLimiter
    # Called with (before, after) whenever the clock advances: the webhook sender (``etl.simulator.webhooks``)
    on_advance: list[Callable[[datetime, datetime], None]] = field(default_factory=list)

    def snapshot(self) -> dict[str, object]:
        return {
            **self.stats.snapshot(),
            "faults_injected": self.faults.state()["injected"],
            "tokens_issued": self.tokens.issued,
            "now": _iso(self.clock.now()),
            "plan": self.limiter.plan,
            "limits": self.limiter.limits() if self.limiter.enabled else None,
        }

    def advance(self, *, days: float = 0, seconds: float = 0) -> datetime:
        before = self.clock.now()
        after = self.clock.advance(timedelta(days=days, seconds=seconds))
        for listener in self.on_advance:
            listener(before, after)
        return after

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, dict]:
        """Answer one ``/_sim/...`` request: (HTTP status, JSON body)."""
        routes: dict[tuple[str, str], Callable[[dict], dict]] = {
            ("GET", "/_sim/stats"): lambda _: self.snapshot(),
            ("POST", "/_sim/stats/reset"): self._reset,
            ("GET", "/_sim/clock"): lambda _: {"now": _iso(self.clock.now())},
            ("POST", "/_sim/clock"): self._clock,
            ("GET", "/_sim/faults"): lambda _: self.faults.state(),
            ("POST", "/_sim/faults"): lambda data: (self.faults.update(**data), self.faults.state())[1],
            ("POST", "/_sim/tokens/expire"): lambda _: {"expired": self.tokens.expire_all()},
            ("POST", "/_sim/page_tokens/expire"): lambda _: {"expired": self.pages.expire_all()},
        }
        action = routes.get((method, path.rstrip("/")))
        if action is None:
            known = any(p == path.rstrip("/") for _, p in routes)
            return (
                (405, {"error": f"{method} not allowed on {path}"})
                if known
                else (
                    404,
                    {"error": f"no control endpoint {path}"},
                )
            )
        try:
            data = orjson.loads(body) if body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
            return 200, action(data)
        except (ValueError, TypeError) as exc:  # orjson.JSONDecodeError is a ValueError
            return 400, {"error": str(exc)}

    def _reset(self, _: dict) -> dict:
        self.stats.reset()
        return {"reset": True}

    def _clock(self, data: dict) -> dict:
        unknown = set(data) - {"now", "advance_days", "advance_seconds"}
        if unknown or not data:
            raise ValueError("expected {'now': iso} or {'advance_days': n} or {'advance_seconds': n}")
        if "now" in data:
            raw = str(data["now"]).replace("Z", "+00:00")
            self.clock.set(datetime.fromisoformat(raw))
        days, seconds = data.get("advance_days", 0), data.get("advance_seconds", 0)
        if not isinstance(days, int | float) or not isinstance(seconds, int | float):
            raise ValueError("advance_days and advance_seconds take numbers")
        if days or seconds:
            self.advance(days=days, seconds=seconds)
        return {"now": _iso(self.clock.now())}


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
