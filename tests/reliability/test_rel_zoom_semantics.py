"""The Zoom semantics that break other connectors, checked against the simulator's own account model:

- every instance of a recurring meeting keeps its own participants;
- rejoins and guests never collapse: one row per join segment, as many as Zoom reports;
- uuids that start with ``/`` or contain ``//`` work (REST needs them double-encoded);
- page tokens that expire in the middle of a listing are recovered (the listing restarts);
- report data that arrives late is picked up by the lookback window of the next incremental sync.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from conftest import DAY_STEP, References, sync_here
from reliability_kit import assert_same_data, open_read_only

from etl.simulator.model import MeetingInstance
from etl.simulator.server import RunningSimulator


def _model_segments(sim: RunningSimulator, uuids: list[str]) -> dict[str, int]:
    """Participant segments Zoom's reports give per instance at the simulator's now."""
    account, now = sim.account, sim.clock.now()
    counts = {}
    for uuid in uuids:
        instance = account.instance(uuid, now)
        assert isinstance(instance, MeetingInstance), uuid
        if instance.report_ready_at <= now:
            counts[uuid] = len(account.participants(instance, now))
    return counts


def _warehouse_segments(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = conn.execute(
        "SELECT i.uuid, count(p.meeting_uuid) FROM zoom.meeting_instances i"
        " LEFT JOIN zoom.meeting_participants p ON p.meeting_uuid = i.uuid GROUP BY i.uuid"
    ).fetchall()
    return {uuid: n for uuid, n in rows}


@pytest.mark.slow
@pytest.mark.parametrize("which", ["full", "rest_full"], ids=["graphql", "rest"])
def test_recurring_instances_rejoins_guests_and_slashed_uuids(
    which: str, references: References, fresh_sim: Callable[..., RunningSimulator]
) -> None:
    sim = fresh_sim()
    with open_read_only(getattr(references, which)) as conn:
        stored = _warehouse_segments(conn)
        expected = _model_segments(sim, list(stored))
        # Every reported instance has exactly its own segments: nothing collapsed, nothing borrowed.
        assert expected and {u: stored[u] for u in expected} == expected
        recurring = conn.execute(
            "SELECT i.id, count(DISTINCT p.meeting_uuid) FROM zoom.meeting_instances i"
            " JOIN zoom.meeting_participants p ON p.meeting_uuid = i.uuid GROUP BY i.id"
            " HAVING count(DISTINCT p.meeting_uuid) > 1"
        ).fetchall()
        assert recurring, "no recurring meeting with participants in several instances"
        rejoins = conn.execute(
            "SELECT count(*) FROM (SELECT meeting_uuid, participant_key FROM zoom.meeting_participants"
            " GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()[0]  # type: ignore[index]
        assert rejoins > 0, "no participant with several join segments"
        guests = conn.execute(
            "SELECT count(*) FROM (SELECT meeting_uuid, name FROM zoom.meeting_participants"
            " WHERE coalesce(participant_user_id, '') = '' GROUP BY ALL HAVING count(*) > 1)"
        ).fetchone()[0]  # type: ignore[index]
        assert guests > 0, "no instance with several guest segments of one name"
        slashed = [u for u in stored if u.startswith("/") or "//" in u]
        assert slashed, "the simulated account has no uuid with / or //"
        for uuid in slashed:
            assert uuid in expected and stored[uuid] == expected[uuid] > 0, uuid


@pytest.mark.slow
def test_page_tokens_that_expire_mid_listing_are_recovered(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    """Pages of 60 rows at most, and every 2nd distinct page token is found expired once (Zoom's error
    300): listings restart and the warehouse ends as if nothing happened."""
    sim = fresh_sim(page_size_cap=60, faults={"page_token_expiry_every": 2})
    warehouse = tmp_path / "zoom.duckdb"
    result = sync_here(sim, warehouse, source="rest")
    assert result.status == "ok", result.as_dict()
    assert sim.stats()["faults_injected"]["page_token_expiry"] > 0
    assert_same_data(warehouse, references.rest_full)


@pytest.mark.slow
def test_late_report_data_is_picked_up_by_the_lookback_window(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    """The incremental warehouse (sync, one day later sync again) holds everything a full sync one day
    later sees, including participants of instances whose report was not ready at the first sync."""
    sim = fresh_sim()
    sim.advance(days=DAY_STEP)
    later_full = tmp_path / "later.duckdb"
    assert sync_here(sim, later_full).status == "ok"
    conn = duckdb.connect()
    conn.execute(f"ATTACH '{later_full}' AS later (READ_ONLY)")
    conn.execute(f"ATTACH '{references.incremental}' AS inc (READ_ONLY)")
    conn.execute(f"ATTACH '{references.full}' AS first (READ_ONLY)")
    first_now = sim.account.epoch  # the clock of the first sync
    late = conn.execute(
        "SELECT count(*) FROM later.zoom.meeting_participants p JOIN later.zoom.meeting_instances i"
        " ON p.meeting_uuid = i.uuid WHERE i.start_time < ? AND p.meeting_uuid NOT IN"
        " (SELECT meeting_uuid FROM first.zoom.meeting_participants)",
        [first_now],
    ).fetchone()[0]  # type: ignore[index]
    assert late > 0, "no report data arrived late: the test would prove nothing"
    for table in ("meeting_instances", "meeting_participants", "webinar_participants", "daily_usage"):
        missing = conn.execute(
            f"SELECT count(*) FROM (SELECT * EXCLUDE (_run_id, _synced_at) FROM later.zoom.{table}"
            f" EXCEPT ALL SELECT * EXCLUDE (_run_id, _synced_at) FROM inc.zoom.{table})"
        ).fetchone()[0]  # type: ignore[index]
        assert missing == 0, (table, missing)
    conn.close()
