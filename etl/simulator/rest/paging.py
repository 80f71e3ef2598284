"""Zoom's REST pagination: ``page_size`` caps, opaque ``next_page_token`` and the legacy ``page_number``.

A page token names an offset into one query's stable listing. It is deterministic (the same query and offset
give the same token, so responses replay byte for byte) but only valid once this server has issued it, for
the same query (``page_size`` may change between pages, other parameters may not), and for ``ttl`` seconds of
wall time after issue (Zoom: 15 minutes). Anything else is Zoom's error 300 "The next page token is invalid
or expired."
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from etl.simulator.rest.errors import ApiError

T = TypeVar("T")
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
PAGING_PARAMS = frozenset({"page_size", "next_page_token", "page_number"})


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing and the envelope fields that describe it."""

    items: Sequence[T]
    next_page_token: str
    page_size: int
    page_count: int
    page_number: int
    total_records: int


class PageTokens:
    """Issues and redeems page tokens for one server; thread-safe."""

    def __init__(self, secret: str, ttl: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._secret = secret.encode()
        self.ttl = ttl
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._issued: dict[str, tuple[str, int, float]] = {}  # token -> (query key, offset, issued at)

    def _token(self, key: str, offset: int) -> str:
        digest = hashlib.sha256(self._secret + f"|{key}|{offset}".encode()).digest()
        number = int.from_bytes(digest[:27], "big")
        chars = []
        for _ in range(35):
            number, rem = divmod(number, 62)
            chars.append(_ALPHABET[rem])
        return "".join(chars)

    def issue(self, key: str, offset: int) -> str:
        token = self._token(key, offset)
        now = self._monotonic()
        with self._lock:
            if len(self._issued) > 50_000:
                self._issued = {t: v for t, v in self._issued.items() if now - v[2] < self.ttl}
            self._issued[token] = (key, offset, now)
        return token

    def redeem(self, key: str, token: str) -> int:
        """The offset ``token`` points to, or ``ApiError`` 300 when it is unknown, foreign or stale."""
        with self._lock:
            entry = self._issued.get(token)
        if entry is None or entry[0] != key or self._monotonic() - entry[2] >= self.ttl:
            raise ApiError(400, 300, "The next page token is invalid or expired.")
        return entry[1]

    def expire(self, token: str) -> bool:
        """Forget one token (the ``page_token_expiry_every`` fault); True if it was live."""
        with self._lock:
            return self._issued.pop(token, None) is not None

    def expire_all(self) -> int:
        with self._lock:
            count = len(self._issued)
            self._issued.clear()
            return count


def refuse_above(query: dict[str, str], maximum: int) -> None:
    """A ``page_size`` above the operation's documented ``maximum`` (the OpenAPI file's schema) is refused:
    the strict reading of the contract (Zoom has been seen to cap instead; a client must not rely on it)."""
    raw = query.get("page_size", "")
    if raw.isdigit() and int(raw) > maximum:
        raise ApiError(400, 300, f"Invalid field: page_size {raw} is above the maximum of {maximum}.")


def page_size(query: dict[str, str], maximum: int = 300, default: int = 30) -> int:
    """Zoom's rule: default 30, capped at ``maximum`` (the simulator's own ``page_size_cap``, or 300 where
    the OpenAPI file documents no maximum; a documented one is enforced first by ``refuse_above``)."""
    raw = query.get("page_size", "")
    if not raw:
        return default
    try:
        size = int(raw)
    except ValueError:
        raise ApiError(400, 300, f"Invalid field: page_size {raw!r} is not an integer.") from None
    return default if size < 1 else min(size, maximum)


def paginate(
    tokens: PageTokens,
    key: str,
    query: dict[str, str],
    items: Sequence[T],
    *,
    maximum: int = 300,
    default: int = 30,
    page_number: bool = True,
) -> Page[T]:
    """Slice ``items`` for this request: ``next_page_token`` wins over ``page_number``; ``""`` ends.

    ``page_number`` False: the operation does not list that parameter, and it is ignored like any other
    undeclared one (the first page is served), so a client relying on it sees no second page."""
    size = page_size(query, maximum, default)
    token = query.get("next_page_token", "")
    if token:
        offset = tokens.redeem(key, token)
    elif not page_number:
        offset = 0
    else:
        raw_number = query.get("page_number", "") or "1"
        try:
            number = int(raw_number)
        except ValueError:
            raise ApiError(400, 300, f"Invalid field: page_number {raw_number!r}.") from None
        offset = (max(1, number) - 1) * size
    total = len(items)
    end = offset + size
    return Page(
        items=items[offset:end],
        next_page_token=tokens.issue(key, end) if end < total else "",
        page_size=size,
        page_count=math.ceil(total / size),
        page_number=offset // size + 1,
        total_records=total,
    )


def query_key(template: str, path_params: dict[str, str], query: dict[str, str]) -> str:
    """What a page token is bound to: the endpoint, its path parameters and non-paging query parameters."""
    parts = [template, *(f"{k}={v}" for k, v in sorted(path_params.items()))]
    parts += [f"{k}={v}" for k, v in sorted(query.items()) if k not in PAGING_PARAMS]
    return "&".join(parts)
