"""Users: status filter, lookup by id or email, ``me`` refused for Server-to-Server tokens, 1001."""

from __future__ import annotations

from urllib.parse import quote

import pytest


@pytest.fixture
def client(simulator_factory, zoom_client):
    return zoom_client(simulator_factory(rate_limits=False))


def test_status_filter_partitions_the_users(client) -> None:
    seen: dict[str, str] = {}
    for status in ("active", "inactive", "pending"):
        for u in client.get_ok(f"/v2/users?status={status}&page_size=300")["users"]:
            assert u["status"] == status and u["email"] not in seen
            seen[u["email"]] = status
    assert set(seen) == {
        u.email
        for s in ("active", "inactive", "pending")
        for u in client.sim.account.users(client.sim.clock.now(), s)
    }
    assert client.get("/v2/users?status=deleted")[0] == 400


def test_pending_users_are_listed_without_id_and_found_by_email(client) -> None:
    """OpenAPI: the listing "does not return this value [id] for users with the pending status"; the user
    by email does, with ``created_at`` the time of the call."""
    now = client.sim.clock.now()
    pending = client.sim.account.users(now, "pending")
    assert pending, "the default profile must hold pending users"
    listed = client.get_ok("/v2/users?status=pending&page_size=300")["users"]
    assert [u["email"] for u in listed] == [u.email for u in pending]
    assert not any("id" in u for u in listed)
    assert all("id" in u for u in client.get_ok("/v2/users?status=active&page_size=300")["users"])
    detail = client.get_ok(f"/v2/users/{quote(pending[0].email, safe='')}")
    assert detail["id"] == pending[0].id and detail["status"] == "pending"
    assert detail["created_at"] == f"{now:%Y-%m-%dT%H:%M:%S}Z"


def test_a_user_by_id_or_email(client) -> None:
    user = client.sim.account.users(client.sim.clock.now())[0]
    assert client.get_ok(f"/v2/users/{user.id}")["email"] == user.email
    assert client.get_ok(f"/v2/users/{quote(user.email)}")["id"] == user.id


def test_me_is_refused_and_unknown_users_are_1001(client) -> None:
    status, _, body = client.get("/v2/users/me")
    assert status == 400 and body["code"] == 200 and "Server-to-Server" in body["message"]
    status, _, body = client.get("/v2/users/nobody/meetings")
    assert (status, body["code"]) == (404, 1001)


def test_missing_scopes_are_4700(simulator_factory, zoom_client) -> None:
    client = zoom_client(simulator_factory(rate_limits=False, scopes=("user:read:admin",)))
    assert client.get("/v2/users")[0] == 200
    status, _, body = client.get("/v2/report/daily")
    assert status == 400 and body["code"] == 4700 and "report:read:admin" in body["message"]
