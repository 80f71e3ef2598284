"""Webinars: definitions, instances, participants with fractional-second report times, absentees."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest


@pytest.fixture
def client(simulator_factory, zoom_client):
    return zoom_client(simulator_factory(rate_limits=False))


def _instance(sim):
    now = sim.clock.now()
    return next(
        i
        for u in sim.account.users(now)
        for w in sim.account.webinars(u.id, now)
        for i in sim.account.webinar_instances_of(w.id, now)
        if i.report_ready_at <= now
    )


def _enc(uuid: str) -> str:
    return quote(quote(uuid, safe=""), safe="")


def test_webinar_report_participants_use_fractional_seconds(client) -> None:
    instance = _instance(client.sim)
    body = client.get_ok(f"/v2/report/webinars/{_enc(instance.uuid)}/participants?page_size=300")
    assert body["participants"]
    assert all(
        re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", p["join_time"]) for p in body["participants"]
    )
    assert body["total_records"] == len(
        client.sim.account.webinar_participants(instance, client.sim.clock.now())
    )


def test_absentees_are_registrants_who_did_not_attend(client) -> None:
    sim = client.sim
    instance = _instance(sim)
    body = client.get_ok(f"/v2/past_webinars/{_enc(instance.uuid)}/absentees?page_size=300")
    expected = [r.id for r in sim.account.webinar_registrants(instance, sim.clock.now()) if not r.attended]
    assert [r["id"] for r in body["registrants"]] == expected


def test_webinar_definition_and_instances(client) -> None:
    sim = client.sim
    instance = _instance(sim)
    detail = client.get_ok(f"/v2/webinars/{instance.id}")
    assert detail["id"] == instance.id and detail["type"] in (5, 6, 9)
    listed = client.get_ok(f"/v2/past_webinars/{instance.id}/instances")["webinars"]
    assert instance.uuid in {w["uuid"] for w in listed}
    assert client.get("/v2/webinars/123")[0] == 404


def test_a_recurring_webinar_is_listed_with_its_latest_instance_uuid_like_a_meeting(client) -> None:
    """Zoom: "each webinar instance generates a webinar UUID". A recurring webinar's listing, like a recurring
    meeting's, carries the uuid of its latest held instance (it used to carry one no instance had)."""
    sim = client.sim
    now = sim.clock.now()
    recurring = [
        (u, w)
        for u in sim.account.users(now, "active")
        for w in sim.account.webinars(u.id, now)
        if w.type == 9
    ]
    assert recurring
    for host, webinar in recurring:
        held = sim.account.webinar_instances_of(webinar.id, now)
        assert held
        latest = max(held, key=lambda i: i.start_time).uuid
        listed = {
            w["id"]: w["uuid"]
            for w in client.get_ok(f"/v2/users/{host.id}/webinars?page_size=300")["webinars"]
        }
        assert listed[webinar.id] == latest
        assert client.get_ok(f"/v2/webinars/{webinar.id}")["uuid"] == latest
        instances = client.get_ok(f"/v2/past_webinars/{webinar.id}/instances")["webinars"]
        assert latest in {i["uuid"] for i in instances}
    meeting = next(
        m
        for u in sim.account.users(now, "active")
        for m in sim.account.scheduled_meetings(u.id, now)
        if m.type == 8
    )
    assert meeting.uuid in {i.uuid for i in sim.account.instances_of_meeting(meeting.id, now)}
