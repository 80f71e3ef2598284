"""RateLimiter, pure: a fake clock whose time moves only when the limiter sleeps."""

from __future__ import annotations

import itertools
import threading
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zoomfakes import FakeClock

from etl.errors import RateLimitError
from etl.http import PLAN_LIMITS, RateLimiter, normalize_category


def limiter(plan: str = "pro", clock: FakeClock | None = None, **kwargs: object) -> RateLimiter:
    clock = clock or FakeClock()
    return RateLimiter.for_plan(plan, clock=clock, sleep=clock.sleep, **kwargs)


def max_in_window(times: list[float], window: float) -> int:
    """Most events in any half-open window [t, t + window)."""
    best = 0
    j = 0
    for i in range(len(times)):
        while times[i] - times[j] >= window:
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.mark.parametrize(("plan", "category"), [("pro", "heavy"), ("business", "light"), ("free", "medium")])
def test_rate_never_exceeds_share_of_limit_in_any_second(plan: str, category: str) -> None:
    clock = FakeClock()
    rl = limiter(plan, clock, share=0.8, heavy_daily_budget=10_000)
    times = []
    for _ in range(300):
        rl.acquire(category)
        times.append(clock())
    limit = PLAN_LIMITS[plan].per_second[category]
    assert max_in_window(times, 1.0) <= limit  # Zoom's limit, in every one-second window
    assert max_in_window(times, 10.0) <= limit * 0.8 * 10 + 1  # our share, over longer windows
    # and it is not slower than the share either: 300 calls take 300 / (0.8 * limit) seconds, give or take one
    assert times[-1] - times[0] == pytest.approx(299 / (0.8 * limit), rel=0.01)


@settings(max_examples=50, deadline=None)
@given(
    share=st.floats(0.1, 1.0),
    scale=st.sampled_from([1.0, 10.0, 0.5]),
    units=st.lists(st.integers(1, 5), min_size=5, max_size=60),
)
def test_units_never_exceed_the_rate_over_a_window(share: float, scale: float, units: list[int]) -> None:
    clock = FakeClock()
    rl = limiter("business", clock, share=share, scale=scale)
    rate = 60 * share * scale  # medium on business
    stamps: list[tuple[float, int]] = []
    for u in units:
        rl.acquire("medium", u)
        stamps.append((clock(), u))
    # Paced by units: the span between the first and the last call is the units before the last over the rate.
    span = stamps[-1][0] - stamps[0][0]
    assert span == pytest.approx(sum(units[:-1]) / rate, rel=1e-6, abs=1e-9)


def test_categories_are_independent() -> None:
    clock = FakeClock()
    rl = limiter("pro", clock)
    for _ in range(8):
        rl.acquire("heavy")
    heavy_done = clock()
    rl.acquire("light")  # the light lane has its own schedule: no wait behind heavy's
    assert clock() == heavy_done
    assert rl.acquire("light") == pytest.approx(1 / 24)


def test_resource_intensive_is_paced_per_minute() -> None:
    clock = FakeClock()
    rl = limiter("pro", clock)
    start = clock()
    for _ in range(3):
        rl.acquire("Resource-intensive")
    assert clock() - start == pytest.approx(2 * 60 / 8)  # 10/min x 0.8 = one every 7.5 s


def test_heavy_daily_budget_is_shared_with_resource_intensive() -> None:
    rl = limiter("pro", heavy_daily_budget=5)
    for _ in range(3):
        rl.acquire("heavy")
    rl.acquire("resource_intensive", 2)
    with pytest.raises(RateLimitError, match=r"Heavy \+ Resource-intensive.*5 of 5"):
        rl.acquire("heavy")
    rl.acquire("medium")  # other categories go on
    assert rl.used_today("heavy") == 3


def test_default_heavy_budget_is_plan_cap_times_share() -> None:
    rl = limiter("pro", share=0.5, scale=0.001)  # 30,000 x 0.5 x 0.001 = 15 calls
    for _ in range(15):
        rl.acquire("heavy")
    with pytest.raises(RateLimitError):
        rl.acquire("heavy")


def test_free_plan_caps_each_category_per_day_and_resets_at_utc_midnight() -> None:
    day = [date(2026, 1, 1)]
    clock = FakeClock()
    rl = RateLimiter.for_plan(
        "free", share=1.0, scale=0.001, clock=clock, sleep=clock.sleep, today=lambda: day[0]
    )
    for _ in range(2):  # 2,000 x 0.001
        rl.acquire("medium")
    with pytest.raises(RateLimitError, match="medium"):
        rl.acquire("medium")
    day[0] = date(2026, 1, 2)
    rl.acquire("medium")
    assert rl.used_today("medium") == 1


def test_pause_holds_every_later_request_until_retry_after() -> None:
    clock = FakeClock()
    rl = limiter("business", clock)
    rl.acquire("heavy")
    rl.pause("heavy", 4.0)
    paused_at = clock()
    rl.acquire("heavy")
    assert clock() - paused_at >= 4.0


def test_reservation_made_before_a_pause_is_moved_after_it() -> None:
    clock = FakeClock()
    rl = limiter("business", clock)
    start = clock()

    def sleep_and_pause(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 1:  # a 429 arrives while this thread waits for its slot
            rl.pause("light", 10.0)

    rl._sleep = sleep_and_pause
    rl.acquire("light")
    rl.acquire("light")
    assert clock() - start >= 10.0


def test_low_remaining_slows_down_and_recovers() -> None:
    clock = FakeClock()
    rl = limiter("pro", clock)
    full = rl.rate("heavy")
    rl.observe("heavy", {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "0"})
    assert rl.rate("heavy") == pytest.approx(full * 0.8)
    for _ in range(20):
        rl.observe("heavy", {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "0"})
    assert rl.rate("heavy") == pytest.approx(full * 0.25)  # floor
    for _ in range(200):
        rl.observe("heavy", {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "9"})
    assert rl.rate("heavy") == pytest.approx(full)


def test_slowdown_recovers_with_time_without_headers() -> None:
    clock = FakeClock()
    rl = limiter("pro", clock)
    full = rl.rate("light")
    rl.pause("light", 1.0)
    assert rl.rate("light") < full
    for _ in range(10):
        clock.advance(6)
        rl.acquire("light")
    assert rl.rate("light") == pytest.approx(full)


def test_daily_remaining_from_zoom_caps_the_day() -> None:
    rl = limiter("pro")
    rl.observe("heavy", {"x-ratelimit-limit": "30000", "x-ratelimit-remaining": "2"})  # daily, by its size
    rl.acquire("heavy")
    rl.acquire("resource_intensive")
    with pytest.raises(RateLimitError, match="daily limit"):
        rl.acquire("heavy")


def test_concurrent_threads_get_distinct_evenly_spaced_slots() -> None:
    """Each thread lives on its own virtual time line: a slot reserved twice would show as a gap < 1/rate."""
    local = threading.local()

    def now() -> float:
        return getattr(local, "t", 0.0)

    def sleep(seconds: float) -> None:
        local.t = now() + seconds

    rl = RateLimiter.for_plan("business", share=0.5, clock=now, sleep=sleep)  # heavy: 20/s
    slots: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(16)

    def worker() -> None:
        barrier.wait()
        for _ in range(25):
            rl.acquire("heavy")
            with lock:
                slots.append(now())

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots.sort()
    assert len(slots) == 400
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) == pytest.approx(1 / 20)


def test_category_labels_are_normalised() -> None:
    assert normalize_category("RESOURCE-INTENSIVE") == "resource_intensive"
    assert normalize_category("Heavy") == "heavy"
    with pytest.raises(ValueError):
        normalize_category("extreme")
