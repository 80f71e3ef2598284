"""Small, paranoid paginators: they end on what Zoom says ends a listing, and raise rather than loop.

Each paginator takes a ``fetch`` function (one page per call) and yields what it returns, in order, so
it can be tested without HTTP. A page may be a raw body or a richer object carrying its own request
context (``RestPage``, ``GraphQLPage``); ``envelope`` then tells the paginator where its paging fields are,
and the caller gets each page back whole, never through a side channel.

Rules, from Zoom's pagination docs (FACTS.md §1.2, §2.2):

* GraphQL connections: ``pageInfo.cursor`` is the next ``after``; ``""`` or null ends the listing, and so
  does ``hasNextPage: false`` if a server ever sends it. A cursor seen before raises ``PaginationError``.
* REST ``next_page_token``: ``""`` or missing ends; a repeated token raises ``PaginationError``. Zoom's tokens
  expire after 15 minutes (``ApiError`` code 300): the listing restarts from its first page, at most
  ``max_restarts`` times. Pages already yielded are yielded again after a restart; that is safe because
  every load downstream is an idempotent upsert, and it beats losing the rest of the listing.
* Listings that never end are stopped with ``PaginationError`` (the extraction records a skip and a gap,
  and the run goes on): ``MAX_EMPTY_PAGES`` empty pages in a row that still hand out a new token or cursor;
  more pages than ``2 x ceil(total_records / page_size) + PAGE_SLACK`` (the largest total seen: an account
  may grow during a listing); more than ``MAX_PAGES`` pages whatever the body says.
* Listings with a deprecated ``page_number`` (``GET /users/{id}/webinars``: "we will no longer support
  this field... use the ``next_page_token``", though the token is not among its documented parameters):
  the ``next_page_token`` of the response is followed whenever there is one; only a response without one
  falls back to pages 1..``page_count``. An empty page ends either way, so a wrong count cannot loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

from etl.errors import ApiError, PaginationError, ResourceError

Body = Mapping[str, Any]
P = TypeVar("P")


def _itself(page: Any) -> Body:
    return page


EXPIRED_TOKEN_CODE = 300
MAX_RESTARTS = 3
MAX_NUMBERED_PAGES = 100_000  # a page_count beyond this is a broken server, not an account
MAX_PAGES = 100_000  # pages of one token or cursor listing (30 million records at 300 a page)
MAX_EMPTY_PAGES = 10  # empty pages in a row that still point to a next one
PAGE_SLACK = 10  # pages allowed beyond twice what total_records / page_size announced


class _Guard:
    """Counts the pages of one listing and raises ``PaginationError`` when it shows no sign of ending."""

    def __init__(self, where: str, records_key: str | None) -> None:
        self.where = where
        self.records_key = records_key
        self.pages = 0
        self.empty = 0
        self.total = 0
        self.size = 0

    def check(self, body: Body, records: int | None = None) -> None:
        """Called with each page that points to a next one."""
        self.pages += 1
        if records is None:
            items = body.get(self.records_key) if self.records_key else None
            records = len(items) if isinstance(items, list) else None
        if records == 0:
            self.empty += 1
            if self.empty >= MAX_EMPTY_PAGES:
                raise PaginationError(
                    f"{self.where}: {self.empty} empty pages in a row, each with a new token"
                )
        elif records is not None:
            self.empty = 0
        total, size = _int(body.get("total_records")), _int(body.get("page_size"))
        if total is not None and size:
            self.total, self.size = max(self.total, total), size
        if self.size:
            allowed = 2 * -(-self.total // self.size) + PAGE_SLACK
            if self.pages > allowed:
                raise PaginationError(
                    f"{self.where}: {self.pages} pages, far beyond total_records {self.total} at"
                    f" page_size {self.size}"
                )
        if self.pages >= MAX_PAGES:
            raise PaginationError(f"{self.where}: more than {MAX_PAGES:,} pages")


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def cursor_pages(
    fetch: Callable[[str | None], P], *, where: str = "", envelope: Callable[[P], Body] = _itself
) -> Iterator[P]:
    """Yield GraphQL pages until the cursor ends; ``envelope(page)`` is the connection object
    (``{"edges": [...], "pageInfo": {...}}``)."""
    seen: set[str] = set()
    guard = _Guard(where, "edges")
    after: str | None = None
    while True:
        page = fetch(after)
        yield page
        connection = envelope(page)
        info = connection.get("pageInfo") or {}
        cursor = info.get("cursor")
        if not cursor or info.get("hasNextPage") is False:
            return
        if cursor in seen:
            raise PaginationError(f"{where}: GraphQL cursor {cursor[:12]!r}... repeated; stopping a loop")
        seen.add(cursor)
        guard.check(connection)
        after = cursor


def token_pages(
    fetch: Callable[[str | None], P],
    *,
    where: str = "",
    max_restarts: int = MAX_RESTARTS,
    records_key: str | None = None,
    envelope: Callable[[P], Body] = _itself,
) -> Iterator[P]:
    """Yield REST pages following ``next_page_token``; restart the listing on an expired token.
    ``records_key`` names the list of records (for the empty-page guard); ``envelope(page)`` is the body."""
    restarts = 0
    while True:
        seen: set[str] = set()
        guard = _Guard(where, records_key)
        token: str | None = None
        while True:
            try:
                page = fetch(token)
            except ApiError as exc:
                if not _is_expired_token(exc, token) or restarts >= max_restarts:
                    raise
                restarts += 1
                break  # restart from the first page
            yield page
            body = envelope(page)
            token_value = body.get("next_page_token")
            if not token_value:
                return
            if token_value in seen:
                raise PaginationError(f"{where}: next_page_token {token_value[:12]!r}... repeated")
            seen.add(token_value)
            guard.check(body)
            token = token_value


def numbered_pages(
    fetch: Callable[[str | None, int], P],
    *,
    records_key: str,
    where: str = "",
    envelope: Callable[[P], Body] = _itself,
) -> Iterator[P]:
    """Yield the pages of a listing whose ``page_number`` is deprecated. ``fetch(token, number)`` asks for
    the page after ``token`` when there is one, else page ``number``. Without ``page_count``,
    ``total_records`` over ``page_size`` gives the count, and failing that a full page means there may be
    another."""
    number = 1
    token: str | None = None
    seen: set[str] = set()
    while True:
        page = fetch(token, number)
        yield page
        body = envelope(page)
        records = body.get(records_key)
        if not records:
            return
        number += 1
        if number > MAX_PAGES:
            raise PaginationError(f"{where}: more than {MAX_PAGES} pages; stopping a listing that never ends")
        token = body.get("next_page_token") or None
        if token is not None:
            if token in seen:
                raise PaginationError(f"{where}: next_page_token {token[:12]!r}... repeated")
            seen.add(token)
            continue
        count = _page_count(body, len(records), number - 1)
        if number > count:
            return
        if count > MAX_NUMBERED_PAGES:
            raise PaginationError(f"{where}: page_count {count} is not believable")


def _page_count(body: Body, records: int, number: int) -> int:
    """Pages in a numbered listing, as far as page ``number`` tells: a full page with no count at all
    means at least one more."""
    if body.get("page_count") is not None:
        return int(body["page_count"])
    size = int(body.get("page_size") or 0)
    if body.get("total_records") is not None and size > 0:
        return -(-int(body["total_records"]) // size)
    return number + 1 if size > 0 and records >= size else number


def _is_expired_token(exc: ApiError, token: str | None) -> bool:
    """Code 300 on a follow-up page means the token expired; on the first page it means something else."""
    return token is not None and exc.code == EXPIRED_TOKEN_CODE and not isinstance(exc, ResourceError)
