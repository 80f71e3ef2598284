"""Report and dashboard endpoints: windows, the six-month floor, two-participant rule, Zoom's time formats."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from urllib.parse import quote

import pytest


@pytest.fixture
def client(simulator_factory, zoom_client):
    return zoom_client(simulator_factory(rate_limits=False, plan="business"))


def _window(sim, days: int = 28) -> str:
    today = sim.clock.now().date()
    return f"from={today - timedelta(days=days)}&to={today}"


def _busy_host(sim):
    now = sim.clock.now()
    return next(
        u
        for u in sim.account.users(now)
        if any(
            i.participants_count >= 2
            for i in sim.account.instances_of_host(
                u.id, now - timedelta(days=28), now, now, reported_only=True
            )
        )
    )


def test_report_lists_only_meetings_with_two_or_more_participants(client) -> None:
    sim = client.sim
    now = sim.clock.now()
    host = _busy_host(sim)
    body = client.get_ok(f"/v2/report/users/{host.id}/meetings?{_window(sim)}&page_size=300")
    start = datetime.combine(now.date() - timedelta(days=28), time(), UTC)
    found = sim.account.instances_of_host(host.id, start, start + timedelta(days=29), now, reported_only=True)
    assert [m["uuid"] for m in body["meetings"]] == [i.uuid for i in found if i.participants_count >= 2]
    assert body["from"] == str(now.date() - timedelta(days=28)) and body["to"] == str(now.date())
    meeting = body["meetings"][0]
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", meeting["join_time"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meeting["start_time"])
    one = client.get_ok(f"/v2/report/users/{host.id}/meetings?{_window(sim)}&type=pastOne&page_size=300")
    assert all(m["participants_count"] < 2 for m in one["meetings"])


def test_report_lists_the_hosts_webinars_among_meetings(client) -> None:
    """Zoom's OpenAPI: the report covers "past meetings and webinars" with two or more participants."""
    sim = client.sim
    now = sim.clock.now()
    start = datetime.combine(now.date() - timedelta(days=28), time(), UTC)
    end = start + timedelta(days=29)
    host, webinars = next(
        (u, found)
        for u in sim.account.users(now)
        if (found := sim.account.webinar_instances_of_host(u.id, start, end, now, reported_only=True))
        and any(w.participants_count >= 2 for w in found)
    )
    body = client.get_ok(f"/v2/report/users/{host.id}/meetings?{_window(sim)}&page_size=300")
    listed = {m["uuid"]: m for m in body["meetings"]}
    expected = [w for w in webinars if w.participants_count >= 2]
    assert all(listed[w.uuid]["type"] == w.type and w.type in (5, 6, 9) for w in expected)
    starts = [m["start_time"] for m in body["meetings"]]
    assert starts == sorted(starts)


@pytest.mark.parametrize(
    "path",
    [
        "/v2/report/users/{user}/meetings?from={today}",
        "/v2/report/users/{user}/meetings?from={over_a_month}&to={today}",
        "/v2/report/users/{user}/meetings?from={seven_months}&to={seven_months_plus}",
        "/v2/report/users/{user}/meetings?from={today}&to={over_a_month}",
        "/v2/report/users?from={seven_months}&to={seven_months_plus}",
        "/v2/report/operationlogs?from={over_a_month}&to={today}",
        "/v2/metrics/meetings?type=past&from={seven_months}&to={seven_months_plus}",
    ],
)
def test_bad_windows_are_code_300(client, path) -> None:
    today = client.sim.clock.now().date()
    values = {
        "user": _busy_host(client.sim).id,
        "today": today,
        "over_a_month": today - timedelta(days=40),
        "seven_months": today - timedelta(days=215),
        "seven_months_plus": today - timedelta(days=210),
    }
    status, _, body = client.get(path.format(**values))
    assert (status, body["code"]) == (400, 300)


def test_a_full_calendar_month_is_allowed(client) -> None:
    today = client.sim.clock.now().date()
    first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    last = today.replace(day=1) - timedelta(days=1)
    assert client.get(f"/v2/report/operationlogs?from={first}&to={last}")[0] == 200


def test_late_report_data_appears_when_the_clock_moves(client) -> None:
    sim = client.sim
    now = sim.clock.now()
    later = now + timedelta(days=7)
    pending = [
        i
        for i in sim.account.instances_in_window(now, later, later, reported_only=False)
        if i.report_ready_at > i.end_time + timedelta(seconds=1)
    ]
    assert pending, "the tiny profile must hold meetings whose report data arrives late"
    instance = pending[0]
    sim.clock.set(instance.end_time + timedelta(seconds=1))
    past = client.get_ok(f"/v2/past_meetings/{quote(quote(instance.uuid, safe=''), safe='')}")
    assert past["uuid"] == instance.uuid  # the meeting has ended...
    status, _, body = client.get(f"/v2/report/meetings/{quote(quote(instance.uuid, safe=''), safe='')}")
    assert (status, body["code"]) == (404, 3001)  # ...but its report is not there yet
    sim.clock.set(instance.report_ready_at)
    assert (
        client.get_ok(f"/v2/report/meetings/{quote(quote(instance.uuid, safe=''), safe='')}")["uuid"]
        == instance.uuid
    )


def test_daily_report_accepts_only_the_last_six_months(client) -> None:
    today = client.sim.clock.now().date()
    body = client.get_ok(f"/v2/report/daily?year={today.year}&month={today.month}")
    assert (body["year"], body["month"]) == (today.year, today.month)
    assert all(d["date"].startswith(f"{today.year}-{today.month:02d}") for d in body["dates"])
    status, _, error = client.get(f"/v2/report/daily?year={today.year - 1}&month={today.month}")
    assert (status, error["code"]) == (400, 300)


def test_dashboard_durations_are_clock_strings_and_need_business(
    client, simulator_factory, zoom_client
) -> None:
    body = client.get_ok(f"/v2/metrics/meetings?type=past&{_window(client.sim)}&page_size=300")
    assert body["meetings"] and all(
        re.fullmatch(r"(\d+:)?\d\d:\d\d", m["duration"]) for m in body["meetings"]
    )
    assert client.get_ok(f"/v2/metrics/meetings?{_window(client.sim)}")["meetings"] == []  # type=live
    pro = zoom_client(simulator_factory(rate_limits=False))
    status, _, error = pro.get(f"/v2/metrics/meetings?type=past&{_window(client.sim)}")
    assert (status, error["code"]) == (400, 200)


def test_qos_participants_are_listed_for_past_meetings_only(client) -> None:
    sim = client.sim
    now = sim.clock.now()
    instance = next(
        i for i in sim.account.instances_in_window(now - timedelta(days=28), now, now, reported_only=True)
    )
    body = client.get_ok(f"/v2/metrics/meetings/{instance.id}/participants?type=past")
    assert len(body["participants"]) == min(
        30,
        len(
            sim.account.participants(
                max(sim.account.instances_of_meeting(instance.id, now), key=lambda i: i.start_time), now
            )
        ),
    )
    assert client.get(f"/v2/metrics/meetings/{instance.id}/participants")[0] == 404


def test_active_hosts_report_adds_up(client) -> None:
    body = client.get_ok(f"/v2/report/users?{_window(client.sim)}&page_size=300")
    assert body["total_meetings"] == sum(u["meetings"] for u in body["users"]) > 0
    assert body["total_meeting_minutes"] == sum(u["meeting_minutes"] for u in body["users"])


def test_an_all_hands_report_spans_pages_of_300_rows_each_row_once(simulator_factory, zoom_client) -> None:
    client = zoom_client(simulator_factory(profile="bench", rate_limits=False, plan="business"))
    sim = client.sim
    now = sim.clock.now()
    all_hands = [i for i in sim.account.all_instances(now, reported_only=True) if i.topic == "All hands"]
    assert all_hands, "the bench profile holds all-hands meetings"
    widest = max(all_hands, key=lambda i: len(sim.account.participants(i, now)))
    expected = sim.account.participants(widest, now)
    assert len(expected) > 300
    path = f"/v2/report/meetings/{quote(quote(widest.uuid, safe=''), safe='')}/participants?page_size=300"
    pages, token = [], ""
    while True:
        body = client.get_ok(path + (f"&next_page_token={token}" if token else ""))
        pages.append(body["participants"])
        token = body["next_page_token"]
        if not token:
            break
    assert [len(p) for p in pages[:-1]] == [300] * (len(pages) - 1) and len(pages) >= 2
    rows = [(r["user_id"], r["join_time"]) for page in pages for r in page]
    assert len(rows) == len(set(rows)) == len(expected)
    assert body["total_records"] == len(expected)
