"""The one retry loop of zoom-etl: what is retried, how long to wait, when to give up.

Retried: 5xx, timeouts, connection failures and resets, remote protocol errors (a body shorter than its
Content-Length, a dropped chunked stream), bodies that are not the JSON they claim to be (truncated), and
429 once its ``Retry-After`` is honoured. Never retried: other 4xx; they say something about the request,
and asking again changes nothing.

Waiting: exponential backoff with full jitter (a uniform draw in ``[0, min(max_delay, base * 2**n))``),
so that many threads failing together do not come back together. A 429 is not backed off here: the
rate limiter already pauses its whole category until ``Retry-After`` (every thread, not just this one),
and the next attempt waits for its slot there.

Giving up: after ``max_attempts`` attempts of one request, or when backoff would pass ``max_total``
seconds, or after ``max_throttled`` 429s in a row for one request. The attempt function tells the loop
what to raise then: it raises ``Retry(error)`` to ask for another attempt and the loop raises ``error``
(a ``TransportError``, ``RateLimitError``...) when none is left.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx

from etl.errors import ApiError

T = TypeVar("T")

# httpx failures worth another attempt: the network, not the request, went wrong.
RETRYABLE_EXCEPTIONS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,  # connect, read, write and pool timeouts
    httpx.NetworkError,  # connect failures, resets, broken pipes
    httpx.RemoteProtocolError,  # server disconnected, truncated body (short Content-Length)
)


def is_retryable_status(status: int) -> bool:
    """5xx and 429 are worth another attempt; every other 4xx is final."""
    return status >= 500 or status == 429


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6  # attempts of one request, the first included (429s are counted apart)
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_total: float = 300.0  # seconds of backoff one request may spend
    max_throttled: int = 30  # 429s one request may meet; each is waited out by the limiter's pause
    max_retry_after: float = 300.0  # a longer Retry-After (a daily limit) is not waited for

    def backoff(self, failures: int, rng: Callable[[], float] = random.random) -> float:
        """Full-jitter delay before the attempt that follows ``failures`` failed ones (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (failures - 1))
        return rng() * ceiling


class Retry(Exception):
    """Raised by an attempt to ask for another; ``error`` is raised if none is left.

    ``throttled``: a 429 whose pause the limiter already holds, so no backoff. ``immediate``: retry at once
    (a refreshed token), still counted as an attempt.
    """

    def __init__(self, error: ApiError, *, throttled: bool = False, immediate: bool = False) -> None:
        super().__init__(str(error))
        self.error = error
        self.throttled = throttled
        self.immediate = immediate


def run(
    attempt: Callable[[], T],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None],
    rng: Callable[[], float] = random.random,
    on_retry: Callable[[Retry, float], None] | None = None,
) -> T:
    """Call ``attempt`` until it returns, raises something other than ``Retry``, or attempts run out."""
    failures = 0
    throttled = 0
    slept = 0.0
    while True:
        try:
            return attempt()
        except Retry as retry:
            delay = 0.0
            if retry.throttled:
                throttled += 1
                exhausted = throttled >= policy.max_throttled
            else:
                failures += 1
                exhausted = failures >= policy.max_attempts
                if not exhausted and not retry.immediate:
                    delay = policy.backoff(failures, rng)
                    exhausted = slept + delay > policy.max_total
            if exhausted:
                raise retry.error from retry.__cause__
            if on_retry is not None:
                on_retry(retry, delay)
            if delay > 0:
                sleep(delay)
                slept += delay


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta seconds, an HTTP date or an ISO 8601 time
    (Zoom sends ``2020-05-31T00:00:00Z`` for daily limits). None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())
