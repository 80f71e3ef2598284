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
