"""AI Companion summaries in the simulator: listing by creation time, one meeting's, plan and scope."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from etl.simulator.oauth import ALL_SCOPES


def _window(sim) -> str:
    now = sim.clock.now()
    return f"from={(now - timedelta(days=28)):%Y-%m-%dT%H:%M:%SZ}&to={now:%Y-%m-%dT%H:%M:%SZ}"


def test_listing_pages_and_each_summary_answers(simulator, zoom_client) -> None:
    client = zoom_client(simulator)
    seen, token = [], ""
    while True:
        body = client.get_ok(
            f"/v2/meetings/meeting_summaries?{_window(simulator)}&page_size=5&next_page_token={token}"
        )
        seen += body["summaries"]
        token = body["next_page_token"]
        if not token:
            break
    now = simulator.clock.now()
    recorded = [
        i
        for i in simulator.account.all_instances(now)
        if i.has_recording and i.end_time >= now - timedelta(days=28)
    ]
    assert len(seen) == len({s["meeting_uuid"] for s in seen}) > 5
    assert {s["meeting_uuid"] for s in seen} <= {i.uuid for i in recorded}
    one = client.get_ok(
        f"/v2/meetings/{quote(quote(seen[0]['meeting_uuid'], safe=''), safe='')}/meeting_summary"
    )
    assert (
        one["meeting_uuid"] == seen[0]["meeting_uuid"] and one["summary_overview"] and one["summary_details"]
    )


def test_bad_dates_free_plan_and_missing_scope_are_refused(simulator_factory, zoom_client) -> None:
    sim = simulator_factory()
    status, _h, body = zoom_client(sim).get("/v2/meetings/meeting_summaries?from=2026-11-01")
    assert (status, body["code"]) == (400, 300)  # Zoom's format is yyyy-MM-ddTHH:mm:ssZ
    free = simulator_factory(plan="free")
    status, _h, body = zoom_client(free).get(f"/v2/meetings/meeting_summaries?{_window(free)}")
    assert (status, body["code"]) == (400, 200)
    scoped = simulator_factory(scopes=tuple(s for s in ALL_SCOPES if not s.startswith("meeting_summary")))
    status, _h, body = zoom_client(scoped).get(f"/v2/meetings/meeting_summaries?{_window(scoped)}")
    assert (status, body["code"]) == (400, 4700)
