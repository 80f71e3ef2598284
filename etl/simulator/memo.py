"""A memoizing view of an ``Account`` for the HTTP front ends.

Every ``Account`` query is a pure function of its arguments (the account is generated from a seed and every
listing is "as seen at ``now``"), and the simulated clock stands still between moves, so a client paging
through a listing asks the same question again and again. Remembering the last answers per method turns
those repeats into dictionary look-ups. Answers are shared: callers must not mutate the lists they get.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from etl.simulator.model import Account

MEMOIZED = (
    "users",
    "user",
    "scheduled_meetings",
    "meeting",
    "instances_of_host",
    "instances_in_window",
    "instance",
    "instances_of_meeting",
    "participants",
    "webinars",
    "webinar",
    "webinar_instance",
    "webinar_instances_of",
    "webinar_participants",
    "webinar_registrants",
    "recordings",
    "daily_usage",
    "sign_in_activity",
    "operation_logs",
)


class _Memo:
    """A small thread-safe LRU cache around one method."""

    def __init__(self, method: Callable[..., Any], size: int) -> None:
        self._method = method
        self._size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, Any] = OrderedDict()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = (args, tuple(sorted(kwargs.items())))
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = self._method(*args, **kwargs)
        with self._lock:
            self._entries[key] = value
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value


class MemoAccount:
    """Wraps an ``Account``: the protocol's queries are memoized, everything else passes through."""

    def __init__(self, account: Account, size: int = 512) -> None:
        self._account = account
        for name in MEMOIZED:
            setattr(self, name, _Memo(getattr(account, name), size))

    def __getattr__(self, name: str) -> Any:  # account_id, seed, epoch and generator extras
        return getattr(self._account, name)

    @property
    def wrapped(self) -> Account:
        return self._account
