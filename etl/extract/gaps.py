"""Outstanding gaps: units of work a run could not fetch whole, fetched again by later runs until they are.

A unit (one user's listing in one month window, one instance's participants, an account-wide window, a
whole listing) opens a gap when it comes back incomplete in a way a later run can repair:

* GraphQL dropped items of a page (partial errors) and its one retry did not bring them back;
* its stream fell back from GraphQL to REST during the run and REST served it. REST's reports are not
  GraphQL's (they leave out one-participant meetings, name other fields): the range GraphQL could not
  cover is re-read with GraphQL by the next run, so the warehouse ends as a GraphQL run leaves it.

A gap is closed by a later unit of the same stream and scope whose days contain it, fetched whole; or
when Zoom says the resource is gone (a ``ResourceError``: 404, 1001, 3001, 12702..., recorded as a skip);
or when it falls out of the six months Zoom keeps reports (recorded as a skip). An error that names no
item is a skip only: a standing notice must not make a unit refetch forever.

Gaps live in ``_etl.gaps``, written in the transaction of the batch whose pages they follow, so a
watermark never passes a gap that is not recorded. Each run hands the outstanding ones to ``extract``:
a unit of the run that covers a gap claims it (and closes it when it is fetched whole); every gap no unit
covers gets a task of its own. A run that ends with gaps outstanding is "partial" (exit 3).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from etl.records import Gap


@dataclass(frozen=True, slots=True)
class Scope:
    """What one unit of work covers: its scope (user id, parent key, "") and, if windowed, its days."""

    scope: str
    first_day: date | None = None
    last_day: date | None = None

    def covers(self, gap: Gap) -> bool:
        if gap.scope != self.scope:
            return False
        if self.first_day is None or self.last_day is None or gap.first_day is None or gap.last_day is None:
            return True
        return self.first_day <= gap.first_day and gap.last_day <= self.last_day


class Outstanding:
    """The gaps earlier runs left, per stream; claims make each gap fetched by one unit of this run."""

    def __init__(self, gaps: Iterable[Gap] = ()) -> None:
        self._lock = threading.Lock()
        self._gaps: dict[str, list[Gap]] = {}
        self._scopes: set[tuple[str, str]] = set()
        self._claimed: set[Gap] = set()
        for gap in gaps:
            self._gaps.setdefault(gap.stream, []).append(gap)
            self._scopes.add((gap.stream, gap.scope))

    def has(self, stream: str, scope: str) -> bool:
        """Whether ``stream`` has gaps in ``scope`` (a unit then says when it closes them)."""
        return (stream, scope) in self._scopes

    def of(self, stream: str, scope: str | None = None) -> list[Gap]:
        return [g for g in self._gaps.get(stream, ()) if scope is None or g.scope == scope]

    def claim(self, stream: str, unit: Scope) -> list[Gap]:
        """Claim the gaps ``unit`` covers (their unit in this run is ``unit``); the ones newly claimed."""
        if (stream, unit.scope) not in self._scopes:
            return []
        with self._lock:
            found = [g for g in self._gaps[stream] if g not in self._claimed and unit.covers(g)]
            self._claimed.update(found)
            return found

    def unclaimed(self, stream: str) -> list[Gap]:
        """Claim and return the gaps of ``stream`` no unit of this run covers: each needs its own task."""
        with self._lock:
            found = [g for g in self._gaps.get(stream, ()) if g not in self._claimed]
            self._claimed.update(found)
            return found
