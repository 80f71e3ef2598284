"""The simulated clock moves only when told to, never with wall time, and is safe across threads."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest

from etl.simulator.clock import REFERENCE_EPOCH, SimClock, default_epoch


def test_starts_at_a_fixed_instant_not_wall_time() -> None:
    clock = SimClock()
    assert clock.now() == REFERENCE_EPOCH == datetime(2026, 11, 4, 15, tzinfo=UTC)
    assert clock.now() == clock.now() == clock.start


@pytest.mark.parametrize(
    ("wall", "start"),
    [
        (datetime(2031, 2, 28, 15, 0, tzinfo=UTC), datetime(2031, 2, 28, 15, tzinfo=UTC)),
        (datetime(2031, 2, 28, 23, 59, tzinfo=UTC), datetime(2031, 2, 28, 15, tzinfo=UTC)),
        (datetime(2031, 3, 1, 14, 59, tzinfo=UTC), datetime(2031, 2, 28, 15, tzinfo=UTC)),
        (
            datetime(2019, 1, 1, 1, tzinfo=timezone(timedelta(hours=5))),
            datetime(2018, 12, 31, 15, tzinfo=UTC),
        ),
    ],
)
def test_the_default_start_is_the_latest_15h_utc_not_after_wall_time(wall: datetime, start: datetime) -> None:
    assert default_epoch(wall) == start


def test_the_default_start_follows_the_real_calendar() -> None:
    start = default_epoch()
    assert start <= datetime.now(UTC) < start + timedelta(days=1)


def test_advance_moves_forward_and_returns_the_new_instant() -> None:
    clock = SimClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.advance(timedelta(hours=5)) == datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert clock.advance(timedelta(0)) == datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert clock.now() == datetime(2026, 1, 1, 5, tzinfo=UTC)
    assert clock.start == datetime(2026, 1, 1, tzinfo=UTC)


def test_advance_refuses_to_go_back() -> None:
    clock = SimClock()
    with pytest.raises(ValueError, match="negative"):
        clock.advance(timedelta(seconds=-1))
    assert clock.now() == REFERENCE_EPOCH


def test_set_jumps_anywhere_and_normalises_to_utc() -> None:
    clock = SimClock()
    plus_two = timezone(timedelta(hours=2))
    assert clock.set(datetime(2026, 12, 1, 2, tzinfo=plus_two)) == datetime(2026, 12, 1, tzinfo=UTC)
    assert clock.now().tzinfo == UTC
    assert clock.set(datetime(2026, 1, 1, tzinfo=UTC)) == datetime(2026, 1, 1, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SimClock(datetime(2026, 1, 1))
    clock = SimClock()
    with pytest.raises(ValueError, match="timezone-aware"):
        clock.set(datetime(2026, 1, 1))


def test_concurrent_advances_all_count() -> None:
    clock = SimClock()
    per_thread, threads = 500, 8

    def work() -> None:
        for _ in range(per_thread):
            clock.advance(timedelta(seconds=1))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert clock.now() == REFERENCE_EPOCH + timedelta(seconds=per_thread * threads)
