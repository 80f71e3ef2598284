"""Pure functions of time: date ranges, month windows, watermarks and the "could not have hosted" rule.

Windows are inclusive ``from``..``to`` day ranges (Zoom's ``from``/``to`` are inclusive dates in UTC), cut at
calendar-month boundaries so that each is within Zoom's one-month limit, and so that streams with different
starting days still share window boundaries (a window is identified by its month).

A stream's watermark is the last day fully covered: the end of the last window of an unbroken run of
completed windows from the range's start. Windows finish out of order under concurrency; a later window
done before an earlier one does not move the watermark, so a crash re-fetches instead of losing data.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from etl.errors import ConfigError

REPORT_HISTORY_MONTHS = 6  # Zoom: "Only provide report in recent 6 months"
DORMANT_MARGIN = timedelta(days=30)  # last_login_time has a 3-day buffer; client sessions last for weeks


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """An inclusive day range inside one calendar month."""

    start: date
    end: date

    @property
    def month(self) -> tuple[int, int]:
        return (self.start.year, self.start.month)

    def params(self) -> dict[str, str]:
        """Zoom's ``from``/``to`` query parameters (and GraphQL variables) for this window."""
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def add_months(day: date, months: int) -> date:
    """Calendar month arithmetic, clamping the day (Mar 31 - 1 month = Feb 28/29), as Zoom counts months."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def report_floor(today: date) -> date:
    """The oldest day Zoom's report endpoints answer for (one day of margin against clock skew)."""
    return add_months(today, -REPORT_HISTORY_MONTHS) + timedelta(days=1)


def month_windows(start: date, end: date) -> list[Window]:
    """``start``..``end`` cut at month boundaries; empty when ``start`` is after ``end``."""
    windows: list[Window] = []
    current = start
    while current <= end:
        last = date(current.year, current.month, calendar.monthrange(current.year, current.month)[1])
        windows.append(Window(current, min(last, end)))
        current = last + timedelta(days=1)
    return windows


def parse_day(value: Any) -> date | None:
    """A ``yyyy-mm-dd`` (or ISO timestamp) from state; None when absent or unreadable."""
    if not value or not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def parse_time(value: Any) -> datetime | None:
    """Zoom's ISO timestamps (``...Z``, fractions) as aware datetimes; None when absent or unreadable."""
    if not value or not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Range:
    """The days one run covers for one stream, and why (for the dry-run plan and the run log)."""

    start: date
    end: date
    reason: str
    unreachable: tuple[date, date] | None = None  # asked for, but older than Zoom keeps reports


def check_since(since: date | None, today: date) -> None:
    """A backfill must start on a day Zoom has reached: one from the future would fetch nothing, yet move
    the watermarks to today and leave the history before it unfetched for good."""
    if since is not None and since > today:
        raise ConfigError(
            f"--since {since.isoformat()} is after Zoom's today ({today.isoformat()}): a backfill starts on a"
            " past day"
        )


def stream_range(
    state: Mapping[str, Any],
    *,
    today: date,
    since: date | None,
    full_refresh: bool,
    lookback_days: int,
    floor: date | None,
) -> Range:
    """Which days to fetch: a backfill from ``since`` (resumed where it stopped), a full refresh, the first
    run, or the incremental run (watermark minus the lookback, for late report data)."""
    watermark = parse_day(state.get("watermark"))
    oldest = floor or add_months(today, -REPORT_HISTORY_MONTHS)
    incremental = watermark - timedelta(days=lookback_days) if watermark else None
    if since is not None:
        start, reason = since, f"backfill since {since.isoformat()}"
        backfill = state.get("backfill") or {}
        through = parse_day(backfill.get("through"))
        if not full_refresh and backfill.get("since") == since.isoformat() and through is not None:
            start = through + timedelta(days=1)
            if incremental is not None:
                start = min(start, incremental)
            reason += f", resumed after {through.isoformat()}"
    elif full_refresh:
        start, reason = oldest, "full refresh"
    elif incremental is not None:
        start, reason = incremental, f"incremental from watermark {watermark} minus {lookback_days} days"
    else:
        start, reason = oldest, "first run"
    unreachable = None
    if floor is not None and start < floor:
        unreachable = (start, floor - timedelta(days=1))
        start = floor
    return Range(min(start, today), today, reason, unreachable)


def advance_watermark(windows: Iterable[Window], done: Iterable[Window]) -> date | None:
    """The end of the last window of the unbroken completed prefix; None if the first is not done."""
    finished = set(done)
    watermark: date | None = None
    for window in sorted(windows):
        if window not in finished:
            break
        watermark = window.end
    return watermark


def merged_watermark(old: Any, new: date | None) -> str | None:
    """Never move a watermark back (a backfill of older months must not undo a later one)."""
    previous = parse_day(old)
    candidates = [d for d in (previous, new) if d is not None]
    return max(candidates).isoformat() if candidates else None


def cannot_have_hosted(user: Mapping[str, Any], window: Window) -> str:
    """Why ``user`` cannot have hosted a meeting in ``window`` ("" if they could have).

    Pending users have never signed in; a user created after the window did not exist in it; a user whose
    last sign-in is older than the window's start minus a margin was not around. An unknown
    ``last_login_time`` proves nothing, so it never skips. The skip is recorded in state (a later run
    revisits it if the user turns out to be active), so a wrong guess costs a delay, not data.
    """
    if user.get("status") == "pending":
        return "pending user"
    created = parse_time(user.get("user_created_at"))
    if created is not None and created.date() > window.end:
        return "created after the window"
    last_login = parse_time(user.get("last_login_time"))
    if last_login is not None and last_login.date() < window.start - DORMANT_MARGIN:
        return f"last sign-in {last_login.date().isoformat()} before the window"
    return ""


def merge_skip(entry: Sequence[str] | None, window: Window) -> list[str]:
    """A user's recorded skip (``[from, to]``, or None) widened to cover ``window``: one range per user."""
    start, end = window.start.isoformat(), window.end.isoformat()
    if entry is None:
        return [start, end]
    return [min(entry[0], start), max(entry[1], end)]


def revisit_windows(
    skipped: Mapping[str, Any], user: Mapping[str, Any], floor: date | None, today: date
) -> list[Window]:
    """Month windows of a user's recorded skip that the rule no longer excludes (the user came back)."""
    entry = skipped.get(str(user.get("id")))
    if not entry:
        return []
    start, end = parse_day(entry[0]), parse_day(entry[1])
    if start is None or end is None:
        return []
    if floor is not None:
        start = max(start, floor)
    return [w for w in month_windows(start, min(end, today)) if not cannot_have_hosted(user, w)]
