"""How many parents a run fetches children for, before it lists them: the dry run's range of those calls.

Participants (one call per meeting instance, more for instances with more than a page of them) are most of
a sync's requests, and their number is not known until the instances are listed. Two bases, in order:

- the warehouse's history (``History``, read by the pipeline): instances per day already synced. An
  incremental run fetches participants for the instances it has not completed (low: the new days at the
  recent daily rate, plus known instances not yet done) and, at most, again for every known instance of
  its windows whose listing changed (high). Webinar children are fetched again while an instance is within
  the lookback window, so both ends count those.
- on a first sync, Zoom's daily usage report (``GET /report/daily``, one Heavy call per month of the
  windows): its ``meetings`` per day are the instances (low; with REST, which lists only meetings of two
  or more participants, an assumed share fewer); extra pages for instances with more than a page of
  participants are at most ``participants / page`` more (high). Webinars are not in it: their children
  are counted as none, and the plan says so.
Without either, the plan names the participants as not counted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from etl.extract.windows import Window

if TYPE_CHECKING:
    from etl.http.client import ZoomClient

RATE_DAYS = 28  # the recent daily rate: instances per day over this many days of history
PAGE = 300  # participants per page
REST_SHARE_LEFT_OUT = 0.3  # an assumption: meetings with one participant, which REST's report leaves out


@dataclass(frozen=True, slots=True)
class History:
    """What the warehouse knows that sizes a run's children: plain data, read by the pipeline."""

    instances: Mapping[date, int] = field(default_factory=dict)  # meeting instances by start day (UTC)
    done: Mapping[date, int] = field(default_factory=dict)  # of those, with participants complete
    webinar_instances: Mapping[date, int] = field(default_factory=dict)  # by start day
    webinars: int = 0


@dataclass(frozen=True, slots=True)
class Parents:
    """The parents a keyed child stream is fetched for in the run: a range, and what it rests on."""

    low: int
    high: int
    basis: str


def _days(windows: Sequence[Window]) -> tuple[date, date] | None:
    return (windows[0].start, windows[-1].end) if windows else None


def _sum(per_day: Mapping[date, int], first: date, last: date) -> int:
    return sum(n for day, n in per_day.items() if first <= day <= last)


def _rate(per_day: Mapping[date, int], through: date) -> float:
    return _sum(per_day, through - timedelta(days=RATE_DAYS - 1), through) / RATE_DAYS


def from_history(
    history: History,
    windows: Sequence[Window],
    *,
    watermark: date | None,
    lookback_days: int,
    full_refresh: bool,
) -> dict[str, Parents]:
    """Meeting and webinar instances of the run's windows, from what the warehouse holds (see the module
    docstring); empty when it holds no instance (a first sync)."""
    span = _days(windows)
    if span is None or not history.instances:
        return {}
    first, last = span
    synced_through = watermark or max(history.instances)
    new_days = max(0, (last - synced_through).days)
    known = _sum(history.instances, first, last)
    done = 0 if full_refresh else _sum(history.done, first, last)
    new = _rate(history.instances, synced_through) * new_days
    basis = (
        f"warehouse: {known:,} known instances in the windows, {new_days} new day(s) at"
        f" {_rate(history.instances, synced_through):.1f} instances/day"
    )
    meetings = Parents(math.floor(new) + known - done, math.ceil(new) + known, basis)
    recent = last - timedelta(days=lookback_days)
    webinar_new = _rate(history.webinar_instances, synced_through) * new_days
    webinar_known = _sum(history.webinar_instances, recent, last)
    if full_refresh:
        webinar_known = sum(history.webinar_instances.values())
    webinars = Parents(
        math.floor(webinar_new) + webinar_known,
        math.ceil(webinar_new) + webinar_known,
        f"warehouse: {webinar_known} webinar instances within the lookback, new ones at the recent rate",
    )
    return {
        "meeting_participants": meetings,
        "webinar_instances": webinars,
        "webinar_participants": webinars,
        "webinar_absentees": webinars,
    }


def from_daily_usage(
    days: Sequence[Mapping[str, Any]], windows: Sequence[Window], *, rest: bool
) -> dict[str, Parents]:
    """Meeting instances of the run's windows from the daily usage report's rows (``date``, ``meetings``,
    ``participants``); webinars counted as none (see the module docstring). ``rest``: the instances are
    listed by REST's report, which leaves out meetings with one participant: the low end assumes up to
    ``REST_SHARE_LEFT_OUT`` of them are."""
    span = _days(windows)
    if span is None:
        return {}
    first, last = span
    inside = [d for d in days if first.isoformat() <= str(d.get("date")) <= last.isoformat()]
    meetings = sum(int(d.get("meetings") or 0) for d in inside)
    participants = sum(int(d.get("participants") or 0) for d in inside)
    none = Parents(0, 0, "not counted: webinars are not in the daily usage report")
    basis = f"daily usage report: {meetings:,} meetings, {participants:,} participants in the windows"
    low = meetings
    if rest:
        low = math.floor(meetings * (1 - REST_SHARE_LEFT_OUT))
        basis += (
            f" (REST lists meetings of 2+ participants only: assumed up to {REST_SHARE_LEFT_OUT:.0%} fewer)"
        )
    return {
        "meeting_participants": Parents(low, meetings + math.ceil(participants / PAGE), basis),
        "webinar_instances": none,
        "webinar_participants": none,
        "webinar_absentees": none,
    }


def fetch_daily_usage(client: ZoomClient, windows: Sequence[Window]) -> list[dict[str, Any]]:
    """The daily usage report of every month of ``windows`` (one Heavy call each)."""
    from etl.sources import rest
    from etl.streams import BY_NAME

    endpoint = BY_NAME["daily_usage"].rest[0]
    found: list[dict[str, Any]] = []
    for year, month in sorted({w.month for w in windows}):
        for page in rest.fetch_pages(client, endpoint, {}, {"year": str(year), "month": str(month)}):
            found.extend(page.records)
    return found
