"""Meetings and past meetings: uuid encoding, latest instance by id, 12702, instances, one-person meetings."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest


@pytest.fixture
def client(simulator_factory, zoom_client):
    return zoom_client(simulator_factory(rate_limits=False))


def _instances(sim):
    now = sim.clock.now()
    return sim.account.instances_in_window(now - timedelta(days=40), now, now, reported_only=True)


def test_uuids_needing_double_encoding_fail_single_encoded_and_work_double_encoded(client) -> None:
    tricky = [i for i in _instances(client.sim) if i.uuid.startswith("/") or "//" in i.uuid]
    assert tricky, "the tiny profile must hold a uuid that starts with / or contains //"
    for instance in tricky:
        once = quote(instance.uuid, safe="")
        for prefix in ("/v2/past_meetings/", "/v2/report/meetings/"):
            status, _, body = client.get(prefix + once)
            assert (status, body["code"]) == (404, 3001)
            assert client.get_ok(prefix + quote(once, safe=""))["uuid"] == instance.uuid


def test_plain_uuids_work_single_and_double_encoded(client) -> None:
    plain = next(i for i in _instances(client.sim) if not i.uuid.startswith("/") and "//" not in i.uuid)
    once = quote(plain.uuid, safe="")
    assert client.get_ok(f"/v2/past_meetings/{once}")["uuid"] == plain.uuid
    assert client.get_ok(f"/v2/past_meetings/{quote(once, safe='')}")["uuid"] == plain.uuid


def test_a_meeting_id_means_its_latest_instance(client) -> None:
    sim = client.sim
    now = sim.clock.now()
    recurring = next(i for i in _instances(sim) if len(sim.account.instances_of_meeting(i.id, now)) > 1)
    every = sim.account.instances_of_meeting(recurring.id, now)
    latest = max(every, key=lambda i: i.start_time)
    assert client.get_ok(f"/v2/past_meetings/{recurring.id}")["uuid"] == latest.uuid
    listed = client.get_ok(f"/v2/past_meetings/{recurring.id}/instances")["meetings"]
    assert {m["uuid"] for m in listed} == {i.uuid for i in every}


def test_unknown_meetings_are_3001(client) -> None:
    for path in ("/v2/past_meetings/1234", "/v2/meetings/1234", "/v2/report/meetings/bm9uZQ%3D%3D"):
        status, _, body = client.get(path)
        assert (status, body["code"]) == (404, 3001), path


def test_meetings_older_than_a_year_are_12702(client) -> None:
    instance = _instances(client.sim)[0]
    client.sim.advance(days=400)
    status, _, body = client.get(f"/v2/past_meetings/{quote(quote(instance.uuid, safe=''), safe='')}")
    assert (status, body["code"]) == (400, 12702)


def test_one_person_meetings_list_no_participants(client) -> None:
    sim = client.sim
    now = sim.clock.now()
    lonely = [
        i
        for i in sim.account.instances_in_window(now - timedelta(days=40), now, now, reported_only=False)
        if i.participants_count == 1
    ]
    if not lonely:
        pytest.fail("the tiny profile must hold a single-participant meeting")
    path = f"/v2/past_meetings/{quote(quote(lonely[0].uuid, safe=''), safe='')}/participants"
    assert client.get_ok(path)["participants"] == []


def test_scheduled_meetings_of_a_user(client) -> None:
    sim = client.sim
    now = sim.clock.now()
    host = next(u for u in sim.account.users(now) if sim.account.scheduled_meetings(u.id, now))
    body = client.get_ok(f"/v2/users/{host.id}/meetings?type=scheduled&page_size=300")
    assert [m["id"] for m in body["meetings"]] == [m.id for m in sim.account.scheduled_meetings(host.id, now)]
    detail = client.get_ok(f"/v2/meetings/{body['meetings'][0]['id']}")
    assert detail["host_id"] == host.id and detail["host_email"] == host.email
