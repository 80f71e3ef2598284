"""AI Companion summaries (``meeting_summaries``) end to end: the real simulator over loopback, the real
pipeline, a real DuckDB file. A paid plan lands every summary with its text; a summary gone between the
listing and its detail is a skip of that meeting; a token without the scope records the stream as not
synced, and why, while the others sync; the Free plan never asks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from etl.config import Settings
from etl.extract.windows import add_months
from etl.pipeline import SyncOptions, sync
from etl.simulator.oauth import ALL_SCOPES
from etl.simulator.rest import summaries
from etl.simulator.rest.errors import ApiError
from etl.simulator.server import RunningSimulator
from etl.sources.rest import Endpoint
from etl.streams import BY_NAME
from etl.warehouse.reader import open_read_only

LISTING = "/meetings/meeting_summaries"
DETAIL = "/meetings/{meetingId}/meeting_summary"
ONLY = SyncOptions(streams=("meeting_summaries",))


def expected_uuids(sim: RunningSimulator) -> dict[str, datetime]:
    """The summaries the simulator's account holds, created within a first run's range (six months), with
    their creation times."""
    now = sim.clock.now()
    first = add_months(now.date(), -6)
    made = {
        i.uuid: i.end_time + summaries.CREATED_AFTER
        for i in sim.account.all_instances(now)
        if i.has_recording
    }
    return {uuid: created for uuid, created in made.items() if first <= created.date() and created <= now}


def rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with open_read_only(path) as conn:
        return conn.execute(sql).fetchall()


def asked(sim: RunningSimulator, template: str) -> int:
    return sum(n for e, n in sim.stats()["by_endpoint"].items() if e.endswith(template))


def test_summaries_land_with_their_text_and_are_not_fetched_again(
    simulator: RunningSimulator, settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for(simulator)
    result = sync(settings, ONLY)
    assert result.exit_code == 0, result.error
    loaded = rows(
        settings.warehouse,
        "SELECT meeting_uuid, overview, details, next_steps, summary_content, created_at, host_email"
        " FROM zoom.meeting_summaries",
    )
    uuids = {r[0] for r in loaded}
    assert len(loaded) == len(uuids) > 5
    # Every summary in range, and only those: the window went as datetimes (the simulator refuses a bare
    # date with 400/300, which would have been a skip and exit 3).
    assert uuids == set(expected_uuids(simulator))
    assert all(r[1] and r[1].startswith("The team met about") for r in loaded)
    assert all(r[2] and "label" in str(r[2]) and r[4] and r[5] is not None and r[6] for r in loaded)
    assert asked(simulator, DETAIL) == len(uuids) and asked(simulator, LISTING) >= 1
    assert simulator.stats()["by_status"].keys() == {"200"}
    # A second run lists the recent windows again, and asks for no summary it already has.
    simulator.reset_stats()
    assert sync(settings, ONLY).exit_code == 0
    assert asked(simulator, LISTING) >= 1 and asked(simulator, DETAIL) == 0
    assert len(rows(settings.warehouse, "SELECT 1 FROM zoom.meeting_summaries")) == len(uuids)


def test_the_listing_sends_its_window_as_datetimes() -> None:
    listing = BY_NAME["meeting_summaries"].rest[0]
    assert listing.query({"from": "2026-11-01", "to": "2026-11-30"}) == {
        "page_size": 300,
        "from": "2026-11-01T00:00:00Z",
        "to": "2026-11-30T23:59:59Z",
    }
    dates = Endpoint(path="/report/activities", records_key="x", category="heavy", scopes=(), granular=())
    assert dates.query({"from": "2026-11-01"})["from"] == "2026-11-01"


def test_a_summary_gone_before_its_detail_is_a_skip_of_that_meeting(
    simulator: RunningSimulator, settings_for: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(simulator)
    made = expected_uuids(simulator)
    gone = max(made, key=lambda uuid: made[uuid])  # the latest: the next run's windows list it again
    found = summaries.meeting_instance

    def deleted_one(req, **kwargs):  # the host deleted this summary after Zoom listed it
        inst = found(req, **kwargs)
        if inst.uuid == gone:
            raise ApiError(404, 3001, "Meeting summary does not exist.")
        return inst

    monkeypatch.setattr(summaries, "meeting_instance", deleted_one)
    result = sync(settings, ONLY)
    assert result.exit_code == 3 and result.status == "partial"
    skips = rows(settings.warehouse, "SELECT stream, resource, status, code FROM _etl.skips")
    assert skips == [("meeting_summaries", f"meeting_uuid {gone}", 404, 3001)]
    loaded = {r[0] for r in rows(settings.warehouse, "SELECT meeting_uuid FROM zoom.meeting_summaries")}
    assert gone not in loaded and len(loaded) > 5
    monkeypatch.undo()  # the next run lists it again, asks for it again (its key was never done), gets it
    simulator.reset_stats()
    assert sync(settings, ONLY).exit_code == 0
    assert asked(simulator, DETAIL) == 1
    assert (gone,) in rows(settings.warehouse, "SELECT meeting_uuid FROM zoom.meeting_summaries")


def test_a_token_without_the_summary_scope_syncs_the_rest_and_says_why(
    simulator_factory: Callable[..., RunningSimulator], settings_for: Callable[..., Settings]
) -> None:
    sim = simulator_factory(scopes=tuple(s for s in ALL_SCOPES if not s.startswith("meeting_summary")))
    settings = settings_for(sim)
    result = sync(settings)
    assert result.exit_code == 0 and result.status == "ok", result.error
    assert "meeting_summaries" not in result.rows
    assert result.rows["meeting_instances"] > 0 and result.rows["recordings"] > 0
    [(source, reason)] = rows(
        settings.warehouse, "SELECT source, reason FROM _etl.sources WHERE stream = 'meeting_summaries'"
    )
    assert source == "none"
    assert "scope meeting_summary:read:admin" in str(reason) and "not synced" in str(reason)
    assert "code 4700" in str(reason)
    assert rows(settings.warehouse, "SELECT count(*) FROM _etl.skips") == [(0,)]
    # Its windows are not counted as done: the run that has the scope fetches them.
    [(state,)] = rows(
        settings.warehouse, "SELECT state->>'watermark' FROM _etl.state WHERE stream = 'meeting_summaries'"
    )
    assert state is None
    assert asked(sim, DETAIL) == 0 and asked(sim, LISTING) >= 1  # withdrawn at the first refusals


def test_the_free_plan_never_asks_and_records_why(
    simulator_factory: Callable[..., RunningSimulator], settings_for: Callable[..., Settings]
) -> None:
    sim = simulator_factory(plan="free")
    settings = settings_for(sim)
    result = sync(settings, SyncOptions(streams=("users", "meeting_summaries")))
    # Asked for by name on Free: a usage error, as for the reports.
    assert result.exit_code == 2 and "meeting_summaries cannot be synced: free plan" in result.error
    sim.reset_stats()
    assert sync(settings).exit_code == 0
    [(source, reason)] = rows(
        settings.warehouse, "SELECT source, reason FROM _etl.sources WHERE stream = 'meeting_summaries'"
    )
    assert source == "none" and "GET /meetings/meeting_summaries on Pro or higher only" in str(reason)
    assert asked(sim, LISTING) == 0 and asked(sim, DETAIL) == 0
