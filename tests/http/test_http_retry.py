"""The retry loop and Retry-After parsing, without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from etl.errors import RateLimitError, TransportError
from etl.http.retry import Retry, RetryPolicy, is_retryable_status, parse_retry_after, run


def failing(times: int, **retry_kwargs: bool):  # type: ignore[no-untyped-def]
    calls = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise Retry(TransportError("down", method="GET", endpoint="/v2/x", status=503), **retry_kwargs)
        return "done"

    return attempt, calls


def test_backoff_is_full_jitter_exponential_and_capped() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    assert [policy.backoff(n, lambda: 1.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.backoff(3, lambda: 0.0) == 0.0


def test_retries_until_success_sleeping_backoff() -> None:
    sleeps: list[float] = []
    attempt, calls = failing(3)
    assert run(attempt, RetryPolicy(), sleep=sleeps.append, rng=lambda: 1.0) == "done"
    assert len(calls) == 4 and sleeps == [0.5, 1.0, 2.0]


def test_gives_up_after_max_attempts_with_the_attempts_error() -> None:
    sleeps: list[float] = []
    attempt, calls = failing(100)
    with pytest.raises(TransportError, match="down"):
        run(attempt, RetryPolicy(max_attempts=6), sleep=sleeps.append, rng=lambda: 1.0)
    assert len(calls) == 6 and len(sleeps) == 5


def test_gives_up_when_total_backoff_would_pass_the_bound() -> None:
    sleeps: list[float] = []
    attempt, _calls = failing(100)
    with pytest.raises(TransportError):
        run(attempt, RetryPolicy(max_attempts=50, max_total=3.0), sleep=sleeps.append, rng=lambda: 1.0)
    assert sum(sleeps) <= 3.0 and sleeps == [0.5, 1.0]


def test_throttled_retries_do_not_back_off_and_are_bounded_apart() -> None:
    sleeps: list[float] = []
    attempt, calls = failing(10, throttled=True)
    assert run(attempt, RetryPolicy(max_attempts=2, max_throttled=11), sleep=sleeps.append) == "done"
    assert sleeps == [] and len(calls) == 11
    attempt, calls = failing(10, throttled=True)
    with pytest.raises(TransportError):
        run(attempt, RetryPolicy(max_throttled=5), sleep=sleeps.append)
    assert len(calls) == 5


def test_other_exceptions_pass_through_at_once() -> None:
    calls = []

    def attempt() -> str:
        calls.append(1)
        raise RateLimitError("daily")

    with pytest.raises(RateLimitError):
        run(attempt, RetryPolicy(), sleep=lambda s: None)
    assert calls == [1]


def test_retryable_statuses() -> None:
    assert [s for s in (200, 400, 401, 404, 409, 429, 500, 502, 503, 504) if is_retryable_status(s)] == [
        429,
        500,
        502,
        503,
        504,
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        ("0.5", 0.5),
        ("2026-01-01T00:01:00Z", 60.0),
        ("2026-01-01T00:00:30+00:00", 30.0),
        ("Thu, 01 Jan 2026 00:02:00 GMT", 120.0),
        ("2025-12-31T00:00:00Z", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after(value, now) == expected
