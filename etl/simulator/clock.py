"""The simulator's clock: simulated time that moves only when told to.

Every listing of the generated account is "as seen at" this clock's ``now()``. It never follows wall time,
so two runs against the same seed, profile and clock moves see byte-identical data, and a test or the demo
reveals new meetings, late report data and user changes by advancing it (control endpoint or CLI).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

DEFAULT_EPOCH = datetime(2026, 11, 4, 15, tzinfo=UTC)
"""A fixed starting instant, never wall time, so output bytes stay reproducible. A Wednesday afternoon
(UTC): at the start some meetings are in progress and some ended ones still wait for their report data."""


def _require_aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"simulated time must be timezone-aware, got naive {instant.isoformat()}")
    return instant.astimezone(UTC)


class SimClock:
    """A thread-safe simulated clock, shared by the HTTP server's handler threads and its control endpoint.

    ``advance`` only moves forward (time in the account never runs backwards during a run); ``set`` may
    jump anywhere, which is how a test or the control endpoint resets the clock between scenarios.
    """

    __slots__ = ("_lock", "_now", "start")

    def __init__(self, start: datetime = DEFAULT_EPOCH) -> None:
        self.start = _require_aware(start)
        self._now = self.start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The current simulated instant (UTC)."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (>= 0) and return the new instant."""
        if delta < timedelta(0):
            raise ValueError(f"the simulated clock only advances; got a negative delta {delta}")
        with self._lock:
            self._now = self._now + delta
            return self._now

    def set(self, instant: datetime) -> datetime:
        """Jump to ``instant`` (forward or backward) and return it, in UTC."""
        instant = _require_aware(instant)
        with self._lock:
            self._now = instant
            return self._now

    def __repr__(self) -> str:
        return f"SimClock(start={self.start.isoformat()}, now={self.now().isoformat()})"
