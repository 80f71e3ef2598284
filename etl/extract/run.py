"""What every task of one account's extraction shares (``Run``), and the checkpoint groups a task keeps
open. Its own module so that the engine (which builds a ``Run``), the tasks (``jobs``) and the fetching of one
unit (``fetch``) all import it, and none of them imports another for its types: no import circle."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from etl.config import Settings
from etl.extract.fallback import Sources
from etl.extract.gaps import Outstanding
from etl.extract.scheduler import Group, Scheduler
from etl.extract.state import Tracker
from etl.sources.graphql import Documents
from etl.streams import BY_NAME, descends

if TYPE_CHECKING:
    from etl.http.client import ZoomClient


@dataclass(eq=False, kw_only=True)
class Run:
    """Everything the tasks of one account's extraction share."""

    account_id: str
    client: ZoomClient
    settings: Settings
    documents: Documents
    scheduler: Scheduler
    sources: Sources
    now: datetime
    today: date
    since: date | None
    full_refresh: bool
    requested: frozenset[str]
    active: frozenset[str]
    trackers: dict[str, Tracker]
    outstanding: Outstanding = field(default_factory=Outstanding)
    window_groups: dict[tuple[str, tuple[int, int]], Group] = field(default_factory=dict)
    stream_groups: dict[str, Group] = field(default_factory=dict)
    claimed: set[tuple[str, str]] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    nested_page: int = 15  # users per users_with_meetings page (see ``nested_page_size``)

    def claim(self, stream: str, key: str) -> bool:
        """True the first time ``key`` is claimed for ``stream`` in this run (dedupe across sources)."""
        with self.lock:
            if (stream, key) in self.claimed:
                return False
            self.claimed.add((stream, key))
            return True

    def lane(self, name: str) -> str:
        """The rate-limit lane of a stream's next request: its category with the source in use."""
        stream = BY_NAME[name]
        query = stream.graphql
        if query is not None and self.sources.graphql(name):
            return query.category
        return stream.rest[0].category

    def groups(self, names: Sequence[str], month: tuple[int, int] | None = None) -> list[Group]:
        """Groups of ``names`` (and of every descendant) that a task for ``month`` (None: any) keeps open."""
        found: list[Group] = []
        family = {n for n in self.active if any(descends(n, name) for name in names)}
        for (name, key_month), group in self.window_groups.items():
            if name in family and (month is None or key_month == month):
                found.append(group)
        found.extend(group for name, group in self.stream_groups.items() if name in family)
        return found


def family(groups: Sequence[Group], names: Sequence[str]) -> list[Group]:
    """The groups among ``groups`` held by ``names`` or their descendants (what a child task keeps open)."""
    return [g for g in groups if any(descends(g.tag, name) for name in names)]
