"""Per-category rate limiting for one Zoom account, shared by every thread that calls it.

Zoom limits requests per account and per category (Light, Medium, Heavy, Resource-intensive; FACTS.md
§2.3), plus daily caps. We pace each category on its own schedule, so Light, Medium and Heavy work runs
side by side at full speed while none of them goes past its share of the limit.

Pacing, not bursting: each category keeps a "next free slot" time (GCRA). ``acquire`` reserves the next
slot under a lock and sleeps until it outside the lock, so N waiting threads get N evenly spaced slots and
never two the same. Evenly spaced requests at 80% of a limit cannot exceed it in any one-second window,
whichever way the server counts; a burst allowance would save nothing, since a sync is rate-bound.

Feedback from Zoom:
- ``pause`` (a 429 with ``Retry-After``) moves the category's next slot to the end of the pause; threads
  that had reserved a slot before the pause take a new one after it, so the pause is honoured by all.
- ``observe`` reads ``X-RateLimit-Remaining``: a per-second remaining near zero means someone else is using
  the account, so the category slows down (x0.8 each time, to a floor of 25%) and recovers slowly while
  remaining is healthy; a daily remaining lowers the day's budget to what the server says is left.

Daily budget: Heavy and Resource-intensive calls share one daily count (Zoom's Pro and Business caps are
combined); Free also caps each category per day. When a budget is spent ``acquire`` raises
``RateLimitError`` instead of waiting for the next UTC day. Counts restart at UTC midnight.

``rate_scale`` multiplies every limit, daily caps included: the simulator's benchmarks compress time by the
same factor, so client and simulator must be given the same scale. An explicit ``heavy_daily_budget`` is
taken as given (not scaled).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from etl.errors import RateLimitError

CATEGORIES = ("light", "medium", "heavy", "resource_intensive")
HEAVY_CATEGORIES = frozenset({"heavy", "resource_intensive"})
_MIN_FACTOR = 0.25
_SLOWDOWN = 0.8
_RECOVERY = 0.02
_CALM_SECONDS = 5.0  # without a slow-down signal for this long, a slowed category speeds up by 10%


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """Zoom's published limits for one plan: requests per second and per day, per category."""

    per_second: Mapping[str, float]
    per_day: Mapping[str, int | None]  # per category (Free only); None: no per-category daily cap
    heavy_per_day: int | None  # Heavy + Resource-intensive combined (Pro, Business+)


_BUSINESS = PlanLimits(
    per_second={"light": 80, "medium": 60, "heavy": 40, "resource_intensive": 20 / 60},
    per_day=dict.fromkeys(CATEGORIES),
    heavy_per_day=60_000,
)
PLAN_LIMITS: Mapping[str, PlanLimits] = {
    "free": PlanLimits(
        per_second={"light": 4, "medium": 2, "heavy": 1, "resource_intensive": 10 / 60},
        per_day={"light": 6_000, "medium": 2_000, "heavy": 1_000, "resource_intensive": 30_000},
        heavy_per_day=None,
    ),
    "pro": PlanLimits(
        per_second={"light": 30, "medium": 20, "heavy": 10, "resource_intensive": 10 / 60},
        per_day=dict.fromkeys(CATEGORIES),
        heavy_per_day=30_000,
    ),
    "business": _BUSINESS,
    "enterprise": _BUSINESS,  # "Business+" in Zoom's table covers Business, Education, Enterprise
}


def normalize_category(label: str) -> str:
    """``Heavy``, ``RESOURCE-INTENSIVE``, ``Resource-intensive``... to one of ``CATEGORIES``."""
    name = label.strip().lower().replace("-", "_").replace(" ", "_")
    if name not in CATEGORIES:
        raise ValueError(f"unknown rate-limit category {label!r}; expected one of {', '.join(CATEGORIES)}")
    return name


def _utc_today() -> date:
    return datetime.now(UTC).date()


class _Lane:
    """The pacing state of one category (guarded by the limiter's lock)."""

    __slots__ = ("base_rate", "epoch", "factor", "next_slot", "plan_rate", "slowed_at")

    def __init__(self, plan_rate: float, share: float) -> None:
        self.plan_rate = plan_rate  # Zoom's limit (scaled), requests per second
        self.base_rate = plan_rate * share
        self.factor = 1.0
        self.slowed_at = -math.inf
        self.next_slot = -math.inf
        self.epoch = 0  # bumped by every pause: older reservations are void


class RateLimiter:
    """Blocking, thread-safe pacing of one account's requests, per category, with daily budgets."""

    def __init__(
        self,
        limits: PlanLimits,
        *,
        share: float = 0.8,
        scale: float = 1.0,
        heavy_daily_budget: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        today: Callable[[], date] = _utc_today,
    ) -> None:
        if not 0 < share <= 1 or scale <= 0:
            raise ValueError("share must be in (0, 1] and scale > 0")
        self._clock = clock
        self._sleep = sleep
        self._today = today
        self._lock = threading.Lock()
        self._lanes = {c: _Lane(limits.per_second[c] * scale, share) for c in CATEGORIES}
        self._caps: dict[str, int | None] = {
            c: None if cap is None else math.floor(cap * share * scale) for c, cap in limits.per_day.items()
        }
        heavy = heavy_daily_budget
        if heavy is None and limits.heavy_per_day is not None:
            heavy = math.floor(limits.heavy_per_day * share * scale)
        self._heavy_cap = heavy
        self._combined = limits.heavy_per_day is not None
        self._day = today()
        self._used = dict.fromkeys(CATEGORIES, 0)
        self._server_left: dict[str, int] = {}  # daily remaining reported by Zoom, per category

    @classmethod
    def for_plan(cls, plan: str, **kwargs: object) -> RateLimiter:
        return cls(PLAN_LIMITS[plan], **kwargs)  # type: ignore[arg-type]

    def rate(self, category: str) -> float:
        """Current requests per second of a category (after slow-downs)."""
        lane = self._lanes[normalize_category(category)]
        with self._lock:
            return lane.base_rate * lane.factor

    def used_today(self, category: str) -> int:
        with self._lock:
            self._roll_day()
            return self._used[normalize_category(category)]

    def acquire(self, category: str, units: int = 1) -> float:
        """Block until ``units`` requests of ``category`` may be sent; returns the seconds waited.

        Raises ``RateLimitError`` when the category's daily budget cannot cover ``units``.
        """
        name = normalize_category(category)
        if units < 1:
            raise ValueError("units must be at least 1")
        lane = self._lanes[name]
        waited = 0.0
        while True:
            with self._lock:
                self._check_budget(name, units)
                now = self._clock()
                if lane.factor < 1.0 and now - lane.slowed_at > _CALM_SECONDS:
                    lane.factor = min(1.0, lane.factor + 0.1)
                    lane.slowed_at = now
                start = max(lane.next_slot, now)
                lane.next_slot = start + units / (lane.base_rate * lane.factor)
                epoch = lane.epoch
            delay = start - now
            if delay > 0:
                self._sleep(delay)
                waited += delay
            with self._lock:
                if lane.epoch != epoch:
                    continue  # a pause came in while we waited: take a slot after it
                self._check_budget(name, units)
                self._used[name] += units
                key = self._daily_key(name)
                if key in self._server_left:
                    self._server_left[key] = max(0, self._server_left[key] - units)
                return waited

    def pause(self, category: str, seconds: float) -> None:
        """Send nothing of ``category`` for ``seconds`` (a 429's Retry-After), then resume paced."""
        lane = self._lanes[normalize_category(category)]
        with self._lock:
            resume = self._clock() + max(0.0, seconds)
            if resume > lane.next_slot:
                lane.next_slot = resume
                lane.epoch += 1
            self._slow_down(lane)

    def observe(self, category: str, headers: Mapping[str, str]) -> None:
        """Adapt to ``X-RateLimit-*`` headers of a response in ``category``."""
        remaining_text = headers.get("x-ratelimit-remaining")
        if remaining_text is None:
            return
        try:
            remaining = int(float(remaining_text))
            limit = float(headers.get("x-ratelimit-limit", "0") or 0)
        except ValueError:
            return
        name = normalize_category(category)
        label = headers.get("x-ratelimit-category")
        if label:
            with contextlib.suppress(ValueError):
                name = normalize_category(label)
        kind = headers.get("x-ratelimit-type", "").lower()
        lane = self._lanes[name]
        with self._lock:
            # Zoom reports the daily count where a daily cap applies, often without X-RateLimit-Type: a
            # limit far above the per-second one can only be daily.
            if "daily" in kind or (not kind and limit > 100 * max(1.0, lane.plan_rate)):
                self._roll_day()
                self._server_left[self._daily_key(name)] = remaining
                return
            if limit > 0 and remaining <= limit * (1 - _SLOWDOWN) / 2:
                self._slow_down(lane)
            elif limit == 0 or remaining >= limit / 2:
                lane.factor = min(1.0, lane.factor + _RECOVERY)

    def _daily_key(self, name: str) -> str:
        """Heavy and Resource-intensive share one daily count where the plan combines them."""
        return "heavy" if self._combined and name in HEAVY_CATEGORIES else name

    def _slow_down(self, lane: _Lane) -> None:
        lane.factor = max(_MIN_FACTOR, lane.factor * _SLOWDOWN)
        lane.slowed_at = self._clock()

    def _roll_day(self) -> None:
        today = self._today()
        if today != self._day:
            self._day = today
            self._used = dict.fromkeys(CATEGORIES, 0)
            self._server_left.clear()

    def _check_budget(self, name: str, units: int) -> None:
        self._roll_day()
        checks: list[tuple[str, int | None, int]] = [(name, self._caps.get(name), self._used[name])]
        if name in HEAVY_CATEGORIES:
            heavy_used = sum(self._used[c] for c in HEAVY_CATEGORIES)
            checks.append(("Heavy + Resource-intensive", self._heavy_cap, heavy_used))
        for label, cap, used in checks:
            if cap is not None and used + units > cap:
                raise RateLimitError(
                    f"daily budget for {label} calls spent ({used} of {cap} used today, UTC); "
                    "raise heavy_daily_budget or run again tomorrow"
                )
        left = self._server_left.get(self._daily_key(name))
        if left is not None and left < units:
            raise RateLimitError(f"Zoom reports the daily limit of {name} calls reached for today")
