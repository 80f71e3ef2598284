"""The simulator's clock: simulated time that moves only when told to.

Every listing of the generated account is "as seen at" this clock's ``now()``. Once started it never
follows wall time, so two runs against the same seed, profile, start and clock moves see byte-identical
data, and a test or the demo reveals new meetings, late report data and user changes by advancing it
(control endpoint or CLI).

Where it starts: by default at ``default_epoch()``, the current UTC day at 15:00, so the demo's account
always has recent history whatever the date. The account is generated relative to its start, so a seed
gives the same account relative to its clock on any day (weekday patterns move with the calendar). Tests
and benchmarks pin ``REFERENCE_EPOCH`` instead, for numbers that can be compared across days.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

REFERENCE_EPOCH = datetime(2026, 11, 4, 15, tzinfo=UTC)
"""A fixed start for reproducible runs (tests, benchmarks, ``--clock-start``). A Wednesday afternoon (UTC): at
the start some meetings are in progress and some ended ones still wait for their report data."""
START_HOUR = 15  # UTC: the afternoon of a working day in Europe and the morning in the Americas


def default_epoch(wall: datetime | None = None) -> datetime:
    """The default start: 15:00 UTC of the current UTC day, or of the day before while it is earlier than
    that, so the simulated clock never starts ahead of wall time. ``wall`` defaults to the real clock."""
    wall = _require_aware(wall) if wall is not None else datetime.now(UTC)
    start = wall.replace(hour=START_HOUR, minute=0, second=0, microsecond=0)
    return start if start <= wall else start - timedelta(days=1)


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

    def __init__(self, start: datetime = REFERENCE_EPOCH) -> None:
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
