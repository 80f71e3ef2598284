"""Off a terminal, ``sync`` leaves exactly one JSON line on stdout per run, whatever the outcome, and JSON
progress events on stderr: ``zoom-etl sync >> sync.jsonl`` is a valid JSON-lines file.

The command runs in a subprocess, as cron runs it (stdout and stderr are pipes, not terminals)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from simenv import sim_environ

from etl.cli.progress import progress_event
from etl.errors import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from etl.pipeline import Snapshot
from etl.simulator.server import RunningSimulator
from etl.status import previous_requests
from etl.warehouse.connection import Warehouse

REPO = Path(__file__).resolve().parents[2]


def _sync(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM")}
    base["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "etl", "sync", *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _appended(sync_jsonl: Path, done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """What ``>> sync.jsonl`` does with the run's stdout; every line of the file must be one JSON object."""
    with sync_jsonl.open("a") as handle:
        handle.write(done.stdout)
    records = [orjson.loads(line) for line in sync_jsonl.read_text().splitlines()]
    assert all(isinstance(r, dict) for r in records)
    assert done.stdout.count("\n") == 1, done.stdout
    return records[-1]


def test_every_outcome_is_one_json_line(
    simulator_factory: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    jsonl = tmp_path / "sync.jsonl"
    warehouse = tmp_path / "zoom.duckdb"

    missing = _sync(tmp_path, {"ZOOM_ETL_WAREHOUSE": str(warehouse)})
    record = _appended(jsonl, missing)
    assert (missing.returncode, record["status"], record["exit_code"]) == (EXIT_USAGE, "config_error", 2)
    assert "ZOOM_ACCOUNT_ID" in record["error"]

    sim = simulator_factory()
    env = sim_environ(sim, warehouse)
    bad_flag = _sync(tmp_path, env, "--source", "soap")
    record = _appended(jsonl, bad_flag)
    assert (bad_flag.returncode, record["status"]) == (EXIT_USAGE, "config_error")

    refused = _sync(tmp_path, {**env, "ZOOM_CLIENT_SECRET": "not-the-secret-4711"})
    record = _appended(jsonl, refused)
    assert (refused.returncode, record["status"]) == (EXIT_FAILED, "failed")
    assert "not-the-secret-4711" not in refused.stdout + refused.stderr

    ok = _sync(tmp_path, env)
    record = _appended(jsonl, ok)
    assert (ok.returncode, record["status"]) == (EXIT_OK, "ok"), ok.stderr[-2000:]
    assert record["rows"]["meeting_participants"] > 0

    with Warehouse.open(warehouse):
        locked = _sync(tmp_path, env)
    record = _appended(jsonl, locked)
    assert (locked.returncode, record["status"], record["exit_code"]) == (EXIT_LOCKED, "locked", 75)

    faulty = simulator_factory(faults={"graphql_partial_error_rate": 0.05})
    partial = _sync(tmp_path, sim_environ(faulty, tmp_path / "faulty.duckdb"))
    record = _appended(jsonl, partial)
    assert (partial.returncode, record["status"]) == (EXIT_PARTIAL, "partial"), record

    assert len(jsonl.read_text().splitlines()) == 6


def test_progress_events_on_stderr_off_a_terminal(simulator: RunningSimulator, tmp_path: Path) -> None:
    done = _sync(
        tmp_path,
        sim_environ(simulator, tmp_path / "zoom.duckdb"),
        "--progress-every",
        "0.1",
        "--log-format",
        "json",
    )
    assert done.returncode == EXIT_OK, done.stderr[-2000:]
    lines = [orjson.loads(line) for line in done.stderr.splitlines()]  # logs and events: JSON lines alike
    events = [e for e in lines if e.get("event") == "progress"]
    assert events, done.stderr[-2000:]
    last = events[-1]
    summary = orjson.loads(done.stdout)
    assert last["streams_done"] == last["streams_total"] > 0
    assert last["requests"] == sum(summary["requests_by_category"].values())
    assert last["rows"] == sum(summary["rows"].values())
    assert {"throttled", "eta_seconds", "elapsed_seconds"} <= set(last)
    requests = [e["requests"] for e in events]
    assert requests == sorted(requests)


def test_no_progress_events_when_turned_off(simulator: RunningSimulator, tmp_path: Path) -> None:
    done = _sync(tmp_path, sim_environ(simulator, tmp_path / "zoom.duckdb"), "--progress-every", "0")
    assert done.returncode == EXIT_OK, done.stderr[-2000:]
    assert '"progress"' not in done.stderr


def test_eta_expects_the_last_incremental_run_of_the_same_streams(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path, publish=True) as wh:
        for i, (streams, requests) in enumerate(
            [(("users", "meetings"), 5000), (("users", "meetings"), 400), (("users",), 7)]
        ):
            run_id = wh.start_run(
                streams, run_id=f"run-{i}", started_at=datetime(2026, 11, 1 + i, tzinfo=UTC)
            )
            wh.finish_run(run_id, status="ok", exit_code=0, requests_by_category={"heavy": requests})
    assert previous_requests(path, ("meetings", "users")) == 400
    assert previous_requests(path, ("users",)) is None  # only a first sync of those: no basis
    assert previous_requests(tmp_path / "none.duckdb", ("users",)) is None

    snapshot = Snapshot("acct", {"users": 10}, {"heavy": 100}, 2, ("acct/users",), 2)
    event = progress_event(snapshot, elapsed=10.0, expected_requests=400)
    assert (event["eta_seconds"], event["requests"], event["streams_done"], event["throttled"]) == (
        30.0,
        100,
        1,
        2,
    )
    assert progress_event(snapshot, elapsed=10.0, expected_requests=90)["eta_seconds"] is None
