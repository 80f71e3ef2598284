"""``sync --dry-run`` counts the participant calls a sync makes: from the daily usage report on a first
sync, from the warehouse's history after it. Compared with what the simulator then served, by endpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import Result
from simenv import sim_environ

from etl.cli.plan import print_plans
from etl.config import load_settings
from etl.errors import EXIT_OK
from etl.pipeline import plan_sync
from etl.simulator.server import RunningSimulator

Run = Callable[..., Result]
Env = Callable[[RunningSimulator], dict[str, str]]
PARTICIPANTS = "/v2/report/meetings/{meetingId}/participants"
DAILY = "/v2/report/daily"


def _served(sim: RunningSimulator, endpoint: str) -> int:
    return int(sim.stats()["by_endpoint"].get(endpoint, 0))


def _plan(run: Run, env: dict[str, str]) -> dict[str, Any]:
    result = run("sync", "--dry-run", env=env)
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.count("\n") == 1  # one JSON line off a terminal
    [plan] = orjson.loads(result.stdout)
    return plan


def _participants(plan: dict[str, Any]) -> tuple[int, int]:
    stream = next(s for s in plan["streams"] if s["stream"] == "meeting_participants")
    return stream["calls"].get("heavy", 0), stream["calls_high"].get("heavy", 0)


def _synced(sim: RunningSimulator, run: Run, env: dict[str, str]) -> int:
    """Participant calls of one real sync."""
    before = _served(sim, PARTICIPANTS)
    result = run("sync", env=env)
    assert result.exit_code == EXIT_OK, result.output
    return _served(sim, PARTICIPANTS) - before


def test_the_plan_counts_participant_calls(simulator: RunningSimulator, sim_env: Env, run: Run) -> None:
    env = {**sim_env(simulator), "ZOOM_ETL_SOURCE": "rest"}  # REST: one endpoint per stream in the counts

    daily_before = _served(simulator, DAILY)
    first = _plan(run, env)
    low, high = _participants(first)
    months = len(next(s for s in first["streams"] if s["stream"] == "meeting_participants")["windows"])
    assert _served(simulator, DAILY) - daily_before == months  # the report it read: one call per month
    assert "GET /report/daily" in first["http"]
    full = _synced(simulator, run, env)
    assert full > 10
    assert low <= full <= high, (low, full, high)
    assert first["requests"]["low"] <= first["requests"]["high"]
    assert first["wall_seconds"] <= first["wall_seconds_high"]

    simulator.advance(days=1)
    incremental = _plan(run, env)
    low, high = _participants(incremental)
    stream = next(s for s in incremental["streams"] if s["stream"] == "meeting_participants")
    assert stream["basis"].startswith("warehouse:")
    assert "/report/daily" not in incremental["http"]
    actual = _synced(simulator, run, env)
    assert 0 < actual < full / 4  # the new day's instances, not the whole history again
    assert low <= actual <= high < full / 2, (low, actual, high)


def test_the_plan_as_text_for_a_person(
    simulator: RunningSimulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings({}, sim_environ(simulator, tmp_path / "zoom.duckdb"), None)
    [plan] = plan_sync(settings)
    print_plans([plan])
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["stream", "source", "requests", "range", "windows"]
    low, high = plan.requests
    assert f"  requests: {low:,}-{high:,} (" in "\n".join(lines)
    participants = next(ln for ln in lines if ln.split()[:1] == ["meeting_participants"])
    assert "-" in participants.split()[2]  # a range of calls, not "not counted"
    assert any(ln.startswith("  time: ") and " s, about " in ln for ln in lines)
    assert any("daily usage report" in ln for ln in lines)
