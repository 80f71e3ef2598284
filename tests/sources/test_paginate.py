"""Paginators without HTTP: every page exactly once, repeated cursors raise, expired tokens restart."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl.errors import ApiError, PaginationError, ResourceError
from etl.sources.paginate import MAX_EMPTY_PAGES, MAX_RESTARTS, cursor_pages, numbered_pages, token_pages

cursors = st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=20)


def graphql_listing(cursor_list: list[str]) -> dict[str | None, dict]:
    """Page i is fetched with the cursor that page i-1 returned; the last page returns ""."""
    pages: dict[str | None, dict] = {}
    previous: str | None = None
    for index, cursor in enumerate([*cursor_list, ""]):
        pages[previous] = {"edges": [index], "pageInfo": {"cursor": cursor}}
        previous = cursor
    return pages


@given(cursors)
def test_cursor_pages_yields_every_page_exactly_once(cursor_list: list[str]) -> None:
    pages = graphql_listing(cursor_list)
    seen = [page["edges"][0] for page in cursor_pages(lambda after: pages[after])]
    assert seen == list(range(len(cursor_list) + 1))


@given(cursors.filter(bool), st.data())
def test_cursor_pages_raise_on_a_repeated_cursor(cursor_list: list[str], data: st.DataObject) -> None:
    repeat = data.draw(st.sampled_from(cursor_list))
    chain = [*cursor_list, repeat]
    pages: dict[str | None, dict] = {}
    previous: str | None = None
    for cursor in chain:
        pages.setdefault(previous, {"edges": [], "pageInfo": {"cursor": cursor}})
        previous = cursor
    with pytest.raises(PaginationError):
        list(cursor_pages(lambda after: pages[after], where="test"))


def test_cursor_pages_end_on_null_cursor_or_has_next_page_false() -> None:
    assert len(list(cursor_pages(lambda after: {"pageInfo": {"cursor": None}}))) == 1
    assert len(list(cursor_pages(lambda after: {"pageInfo": {}}))) == 1
    assert len(list(cursor_pages(lambda after: {"pageInfo": {"cursor": "x", "hasNextPage": False}}))) == 1


def rest_listing(tokens: list[str]) -> dict[str | None, dict]:
    pages: dict[str | None, dict] = {}
    previous: str | None = None
    for index, token in enumerate([*tokens, ""]):
        pages[previous] = {"items": [index], "next_page_token": token}
        previous = token
    return pages


@given(cursors)
def test_token_pages_yield_every_page_exactly_once(tokens: list[str]) -> None:
    pages = rest_listing(tokens)
    seen = [page["items"][0] for page in token_pages(lambda token: pages[token])]
    assert seen == list(range(len(tokens) + 1))


@given(cursors.filter(bool), st.data())
def test_token_pages_raise_on_a_repeated_token(tokens: list[str], data: st.DataObject) -> None:
    repeat = data.draw(st.sampled_from(tokens))
    pages: dict[str | None, dict] = {}
    previous: str | None = None
    for token in [*tokens, repeat]:
        pages.setdefault(previous, {"items": [], "next_page_token": token})
        previous = token
    with pytest.raises(PaginationError):
        list(token_pages(lambda token: pages[token]))


def test_expired_token_restarts_the_listing_from_the_first_page() -> None:
    pages = rest_listing(["a", "b"])
    calls: list[str | None] = []
    expired = {"b"}

    def fetch(token: str | None) -> dict:
        calls.append(token)
        if token in expired:
            expired.discard(token)
            raise ApiError("The next page token is invalid or expired.", status=400, code=300)
        return pages[token]

    seen = [page["items"][0] for page in token_pages(fetch)]
    assert seen == [0, 1, 0, 1, 2]  # pages before the expiry come again: upserts make that harmless
    assert calls == [None, "a", "b", None, "a", "b"]


def test_restarts_are_bounded_and_first_page_errors_are_not_restarts() -> None:
    def always_expired(token: str | None) -> dict:
        if token is None:
            return {"next_page_token": "t"}
        raise ApiError("expired", status=400, code=300)

    with pytest.raises(ApiError):
        list(token_pages(always_expired))
    first_calls: list[str | None] = []

    def first_page_300(token: str | None) -> dict:
        first_calls.append(token)
        raise ApiError("Only provide report in recent 6 months.", status=400, code=300)

    with pytest.raises(ApiError):
        list(token_pages(first_page_300))
    assert first_calls == [None]

    def gone(token: str | None) -> dict:
        if token is None:
            return {"next_page_token": "t"}
        raise ResourceError("Meeting not found", status=404, code=300)

    with pytest.raises(ResourceError):
        list(token_pages(gone))
    assert MAX_RESTARTS == 3


def test_numbered_pages_follow_page_count_and_stop_on_an_empty_page() -> None:
    asked: list[int] = []

    def fetch(token: str | None, number: int) -> dict:
        asked.append(number)
        return {"page_count": 3, "webinars": [number]}

    assert [p["webinars"][0] for p in numbered_pages(fetch, records_key="webinars")] == [1, 2, 3]
    assert asked == [1, 2, 3]
    lying = list(numbered_pages(lambda t, n: {"page_count": 99, "webinars": []}, records_key="webinars"))
    assert len(lying) == 1


@pytest.mark.parametrize(
    "envelope",
    [
        {"page_size": 2, "total_records": 5},  # no page_count: total_records over page_size
        {"page_size": 2},  # neither: full pages go on, the short third page ends the listing
    ],
)
def test_numbered_pages_without_page_count_still_reach_the_last_page(envelope: dict) -> None:
    rows = [1, 2, 3, 4, 5]
    asked: list[int] = []

    def fetch(token: str | None, number: int) -> dict:
        asked.append(number)
        return {**envelope, "webinars": rows[(number - 1) * 2 : number * 2]}

    pages = list(numbered_pages(fetch, records_key="webinars"))
    assert [r for p in pages for r in p["webinars"]] == rows
    assert asked == [1, 2, 3]


def test_numbered_pages_follow_the_next_page_token_whenever_zoom_gives_one() -> None:
    """``page_number`` is deprecated: Zoom says to page by ``next_page_token``. A token is followed (not
    the number), a repeated one stops a loop, and a response without one falls back to the number."""
    asked: list[tuple[str | None, int]] = []
    tokens = {1: "t2", 2: "t3"}  # page 3 and later carry none

    def fetch(token: str | None, number: int) -> dict:
        asked.append((token, number))
        return {"page_count": 5, "next_page_token": tokens.get(number, ""), "webinars": [number]}

    assert len(list(numbered_pages(fetch, records_key="webinars"))) == 5
    assert asked[:3] == [(None, 1), ("t2", 2), ("t3", 3)]
    assert asked[3:] == [(None, 4), (None, 5)]  # t3's page had no token: numbers from there

    looping = {"page_count": 9, "next_page_token": "same", "webinars": [1]}
    with pytest.raises(PaginationError, match="repeated"):
        list(numbered_pages(lambda t, n: looping, records_key="webinars"))


# ---- listings that never end (issue 15): empty pages with ever new tokens, pages beyond total_records ----


def test_endless_empty_pages_with_new_tokens_stop_after_max_empty_pages() -> None:
    fetched: list[str | None] = []

    def fetch(token: str | None) -> dict:
        fetched.append(token)
        return {"users": [], "next_page_token": f"t{len(fetched)}"}

    with pytest.raises(PaginationError, match=f"{MAX_EMPTY_PAGES} empty pages in a row"):
        list(token_pages(fetch, where="GET /users", records_key="users"))
    assert len(fetched) == MAX_EMPTY_PAGES


def test_endless_empty_graphql_pages_with_new_cursors_stop_too() -> None:
    fetched: list[str | None] = []

    def fetch(after: str | None) -> dict:
        fetched.append(after)
        return {"edges": [], "pageInfo": {"cursor": f"c{len(fetched)}"}}

    with pytest.raises(PaginationError, match="empty pages in a row"):
        list(cursor_pages(fetch, where="users"))
    assert len(fetched) == MAX_EMPTY_PAGES


def test_a_few_empty_pages_between_full_ones_are_not_a_loop() -> None:
    bodies = [{"users": [1] if i % 5 == 4 else [], "next_page_token": f"t{i + 1}"} for i in range(40)]
    bodies.append({"users": [1], "next_page_token": ""})
    pages = list(token_pages(lambda token: bodies[int(token[1:]) if token else 0], records_key="users"))
    assert len(pages) == 41


def test_pages_far_beyond_total_records_stop_the_listing() -> None:
    def fetch(token: str | None) -> dict:
        number = int(token[1:]) if token else 0
        return {"users": [number], "page_size": 1, "total_records": 3, "next_page_token": f"p{number + 1}"}

    with pytest.raises(PaginationError, match="far beyond total_records 3 at page_size 1"):
        list(token_pages(fetch, where="GET /users", records_key="users"))


@given(st.integers(1, 300), st.integers(0, 3000), st.integers(0, 50))
def test_an_honest_listing_never_trips_the_guards(size: int, total: int, grown: int) -> None:
    """However many records, and even when the account grows by ``grown`` during the listing."""
    final = total + grown
    count = max(1, -(-final // size))
    bodies = [
        {
            "users": [0] * min(size, final - i * size) if final else [],
            "page_size": size,
            "total_records": total if i == 0 else final,
            "next_page_token": f"t{i + 1}" if i + 1 < count else "",
        }
        for i in range(count)
    ]
    pages = list(token_pages(lambda token: bodies[int(token[1:]) if token else 0], records_key="users"))
    assert len(pages) == count
