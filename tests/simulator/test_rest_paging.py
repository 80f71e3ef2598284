"""REST pagination: every record exactly once by ``next_page_token`` and by ``page_number``; token rules."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest


def _all_by_token(client, path: str, key: str, page_size: int) -> list[dict]:
    items, token, pages = [], "", 0
    while True:
        sep = "&" if "?" in path else "?"
        body = client.get_ok(
            f"{path}{sep}page_size={page_size}" + (f"&next_page_token={token}" if token else "")
        )
        items += body[key]
        pages += 1
        token = body["next_page_token"]
        if not token:
            assert pages == max(1, body.get("page_count", pages))
            return items
        assert len(body[key]) == page_size


@pytest.fixture
def client(simulator_factory, zoom_client):
    return zoom_client(simulator_factory(rate_limits=False))


@pytest.mark.parametrize("status", ["active", "inactive", "pending"])
def test_users_come_exactly_once_by_token(client, status) -> None:
    # Emails: Zoom lists a pending user without its id.
    expected = [u.email for u in client.sim.account.users(client.sim.clock.now(), status)]
    got = [u["email"] for u in _all_by_token(client, f"/v2/users?status={status}", "users", 2)]
    assert got == expected and len(set(got)) == len(got)


def test_users_come_exactly_once_by_legacy_page_number(client) -> None:
    first = client.get_ok("/v2/users?page_size=2&page_number=1")
    got = list(first["users"])
    for number in range(2, first["page_count"] + 1):
        page = client.get_ok(f"/v2/users?page_size=2&page_number={number}")
        assert page["page_number"] == number
        got += page["users"]
    assert [u["id"] for u in got] == [
        u.id for u in client.sim.account.users(client.sim.clock.now(), "active")
    ]
    assert first["total_records"] == len(got)


def test_participants_come_exactly_once_with_rejoins_kept(client) -> None:
    sim = client.sim
    now = sim.clock.now()
    instance = max(
        sim.account.instances_in_window(now - timedelta(days=28), now, now, reported_only=True),
        key=lambda i: len(sim.account.participants(i, now)),
    )
    segments = sim.account.participants(instance, now)
    path = f"/v2/report/meetings/{quote(quote(instance.uuid, safe=''), safe='')}/participants"
    got = _all_by_token(client, path, "participants", 3)
    assert [(p["user_id"], p["join_time"]) for p in got] == [
        (p.user_id, p.join_time.strftime("%Y-%m-%dT%H:%M:%SZ")) for p in segments
    ]


def test_page_size_above_the_documented_maximum_is_refused(client) -> None:
    """The OpenAPI file gives ``page_size`` a maximum of 300: above it is an invalid field, not a silent cap
    (a client must not rely on one). Where the file documents no maximum the page is capped at 300."""
    assert client.get_ok("/v2/users?page_size=300")["page_size"] == 300
    assert client.get_ok("/v2/users")["page_size"] == 30
    status, _, body = client.get("/v2/users?page_size=301")
    assert (status, body["code"]) == (400, 300) and "maximum of 300" in body["message"]
    today = client.sim.clock.now().date()
    window = f"from={today - timedelta(days=20)}&to={today}"
    assert client.get_ok(f"/v2/report/activities?{window}&page_size=5000")["page_size"] == 300


def test_page_number_is_ignored_where_the_openapi_file_does_not_list_it(client) -> None:
    """``page_number`` is deprecated; an operation that no longer lists it serves its first page (like any
    undeclared parameter), so a client paging by number there sees the same page again, never the second."""
    sim = client.sim
    now = sim.clock.now()
    instance = next(
        i
        for i in sim.account.instances_in_window(now - timedelta(days=28), now, now, reported_only=True)
        if len(sim.account.participants(i, now)) > 2
    )
    path = f"/v2/past_meetings/{quote(quote(instance.uuid, safe=''), safe='')}/participants?page_size=2"
    first = client.get_ok(path)
    assert first["next_page_token"]
    assert client.get_ok(path + "&page_number=2")["participants"] == first["participants"]
    # where the file lists it (deprecated), it still pages
    assert (
        client.get_ok("/v2/users?page_size=1&page_number=2")["users"]
        != client.get_ok("/v2/users?page_size=1")["users"]
    )


def test_last_page_has_an_empty_token(client) -> None:
    assert client.get_ok("/v2/users?page_size=300")["next_page_token"] == ""


def test_page_tokens_are_bound_to_their_query(client) -> None:
    token = client.get_ok("/v2/users?page_size=1")["next_page_token"]
    assert token
    status, _, body = client.get(f"/v2/users?status=inactive&next_page_token={token}")
    assert (status, body["code"]) == (400, 300)
    assert client.get(f"/v2/users?page_size=2&next_page_token={token}")[0] == 200  # page_size may change


def test_page_tokens_expire(simulator_factory, zoom_client) -> None:
    client = zoom_client(simulator_factory(rate_limits=False, page_token_ttl_s=0))
    token = client.get_ok("/v2/users?page_size=1")["next_page_token"]
    status, _, body = client.get(f"/v2/users?page_size=1&next_page_token={token}")
    assert (status, body) == (400, {"code": 300, "message": "The next page token is invalid or expired."})


def test_page_tokens_expire_on_demand(client) -> None:
    token = client.get_ok("/v2/users?page_size=1")["next_page_token"]
    assert client.control("POST", "/_sim/page_tokens/expire")[0] == 200
    assert client.get(f"/v2/users?page_size=1&next_page_token={token}")[0] == 400
