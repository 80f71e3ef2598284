"""Zoom's account-wide rate limits: per-second token buckets and daily caps, per plan and category.

Zoom counts requests per account (shared by every app on it) in four categories (FACTS.md §2.3):

| category           | Free              | Pro      | Business+ |
|--------------------|-------------------|----------|-----------|
| light              | 4/s, 6,000/day    | 30/s     | 80/s      |
| medium             | 2/s, 2,000/day    | 20/s     | 60/s      |
| heavy              | 1/s, 1,000/day    | 10/s     | 40/s      |
| resource_intensive | 10/min, 30,000/day| 10/min   | 20/min    |

Pro shares 30,000 calls a day between Heavy and Resource-intensive, Business+ 60,000. ``rate_scale`` scales
every rate and cap (a benchmark can compress time; a test can shrink a limit to one call). Per-second buckets
run on the wall clock (``time.monotonic``); daily caps count per UTC day of the *simulated* clock, so moving
the clock by a day gives a fresh daily budget, as midnight GMT does on Zoom. A rejected call consumes nothing.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

CATEGORIES = ("light", "medium", "heavy", "resource_intensive")
HEADER_NAMES = {
    "light": "Light",
    "medium": "Medium",
    "heavy": "Heavy",
    "resource_intensive": "Resource-intensive",
}


@dataclass(frozen=True, slots=True)
class Limit:
    """One category's limit: ``rate`` calls per ``per`` seconds, and an optional daily cap."""

    rate: float
    per: float = 1.0
    daily: int | None = None


# Per plan: the category limits and the combined daily cap of Heavy + Resource-intensive.
PLAN_LIMITS: dict[str, tuple[dict[str, Limit], int | None]] = {
    "free": (
        {
            "light": Limit(4, daily=6_000),
            "medium": Limit(2, daily=2_000),
            "heavy": Limit(1, daily=1_000),
            "resource_intensive": Limit(10, per=60, daily=30_000),
        },
        None,
    ),
    "pro": (
        {
            "light": Limit(30),
            "medium": Limit(20),
            "heavy": Limit(10),
            "resource_intensive": Limit(10, per=60),
        },
        30_000,
    ),
    "business": (
        {
            "light": Limit(80),
            "medium": Limit(60),
            "heavy": Limit(40),
            "resource_intensive": Limit(20, per=60),
        },
        60_000,
    ),
}
PLAN_LIMITS["enterprise"] = PLAN_LIMITS["business"]
COMBINED = ("heavy", "resource_intensive")

QPS_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."
DAILY_MESSAGE = (
    "You have reached the maximum daily rate limit for this API. Refer to the response header for details "
    "on when you can make another request."
)


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one charge: allowed or not, and the ``X-RateLimit-*`` headers to send."""

    allowed: bool
    headers: dict[str, str]
    kind: str = ""  # "QPS" or "Daily-limit" when refused
    message: str = ""


class _Bucket:
    """A token bucket: ``capacity`` tokens, refilled at ``rate`` per second (wall clock)."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now


class RateLimiter:
    """Account-wide limits for one plan; thread-safe. ``charge`` is what REST and GraphQL both call."""

    def __init__(
        self,
        plan: str,
        *,
        scale: float = 1.0,
        enabled: bool = True,
        today: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if plan not in PLAN_LIMITS:
            raise ValueError(f"unknown plan {plan!r}: expected one of {sorted(PLAN_LIMITS)}")
        if scale <= 0:
            raise ValueError(f"rate_scale must be > 0, got {scale}")
        limits, combined = PLAN_LIMITS[plan]
        self.plan = plan
        self.enabled = enabled
        self._now_sim = today
        self._monotonic = monotonic
        self._lock = threading.Lock()
        start = monotonic()
        self._buckets: dict[str, _Bucket] = {}
        self._per_second: dict[str, float] = {}
        self._daily: dict[str, int | None] = {}
        for cat, lim in limits.items():
            rate = lim.rate * scale / lim.per
            self._per_second[cat] = lim.rate * scale
            self._buckets[cat] = _Bucket(rate, max(1.0, lim.rate * scale), start)
            self._daily[cat] = None if lim.daily is None else max(1, round(lim.daily * scale))
        self._combined = None if combined is None else max(1, round(combined * scale))
        self._day: date | None = None
        self._used: dict[str, int] = dict.fromkeys(CATEGORIES, 0)

    def limits(self) -> dict[str, dict[str, float | int | None]]:
        """Effective limits after scaling (for ``/_sim/stats`` and doctor-style checks)."""
        return {
            cat: {
                "per_second": self._buckets[cat].rate,
                "burst": self._buckets[cat].capacity,
                "daily": self._daily_cap(cat),
            }
            for cat in CATEGORIES
        }

    def _daily_cap(self, category: str) -> int | None:
        if category in COMBINED and self._combined is not None:
            return self._combined
        return self._daily[category]

    def _daily_used(self, category: str) -> int:
        if category in COMBINED and self._combined is not None:
            return sum(self._used[c] for c in COMBINED)
        return self._used[category]

    def charge(self, category: str, units: int = 1) -> Decision:
        """Take ``units`` calls of ``category`` from the account's budget, or refuse them all."""
        if category not in self._buckets:
            raise ValueError(f"unknown rate-limit category {category!r}")
        name = HEADER_NAMES[category]
        if not self.enabled:
            return Decision(True, {"X-RateLimit-Category": name})
        now_sim = self._now_sim()
        with self._lock:
            day = now_sim.date()
            if day != self._day:
                self._day = day
                self._used = dict.fromkeys(CATEGORIES, 0)
            cap = self._daily_cap(category)
            if cap is not None and self._daily_used(category) + units > cap:
                midnight = datetime(day.year, day.month, day.day) + timedelta(days=1)
                return Decision(
                    False,
                    {
                        "X-RateLimit-Category": name,
                        "X-RateLimit-Type": "Daily-limit",
                        "X-RateLimit-Limit": str(cap),
                        "X-RateLimit-Remaining": "0",
                        "Retry-After": midnight.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    },
                    "Daily-limit",
                    DAILY_MESSAGE,
                )
            bucket = self._buckets[category]
            bucket.refill(self._monotonic())
            if bucket.tokens < units:
                wait = (units - bucket.tokens) / bucket.rate
                return Decision(
                    False,
                    {
                        "X-RateLimit-Category": name,
                        "X-RateLimit-Type": "QPS",
                        "X-RateLimit-Limit": _fmt(self._per_second[category]),
                        "X-RateLimit-Remaining": "0",
                        "Retry-After": str(max(1, math.ceil(wait))),
                    },
                    "QPS",
                    QPS_MESSAGE,
                )
            bucket.tokens -= units
            self._used[category] += units
            limit: float
            if cap is not None:
                limit, remaining = cap, cap - self._daily_used(category)
            else:
                limit, remaining = self._per_second[category], int(bucket.tokens)
            return Decision(
                True,
                {
                    "X-RateLimit-Category": name,
                    "X-RateLimit-Limit": _fmt(limit),
                    "X-RateLimit-Remaining": str(remaining),
                },
            )

    def allow(self, category: str, units: int = 1) -> bool:
        """``charge`` reduced to a bool: the callable GraphQL's per-field charging is handed."""
        return self.charge(category, units).allowed


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
