"""Crash safety: a sync killed with SIGKILL at any point, then run again, ends with the same ``zoom``
tables (core and history), row for row, as an uninterrupted run over the same simulated data.

The child process kills itself at a named point (``etl.crashpoints``; exit status -9 proves it got
there), or is killed from here once the simulator has served some requests. The rerun runs in this
process (cheaper than another child; the warehouse cannot tell) against the same simulator: a fresh one
with the same seed and clock as the reference run's.

What a kill leaves behind is tested too: a WAL larger than the memory limit (the next sync replays it),
the killed run's ``running`` row (the next run marks it ``interrupted``), a killed ``rebuild``'s staging
tables (never exported; the next writer drops them).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from conftest import DAY_STEP, References, sync_here
from reliability_kit import assert_same_data, child_command, child_env, open_read_only, run_child, run_cli

from etl.simulator.server import RunningSimulator

SIGKILLED = -signal.SIGKILL

# Points of the first (full) sync: extraction, every step of a batch, history, the end of the run.
FULL_SYNC_POINTS = [
    "pipeline.event:15",  # the first pages are in memory, nothing committed
    "pipeline.event:200",  # deep in extraction, several batches committed
    "load.begin:3",
    "load.after_raw:5",
    "load.after_tables:4",  # rows written, their state not: between a batch and its state
    "load.after_state:7",
    "load.after_commit:9",
    "pipeline.before_finish",
]
# Points of the incremental sync after one simulated day: users and meetings change, history moves.
INCREMENTAL_POINTS = [
    "history.after_close:1",  # current versions closed, their successors not yet inserted
    "upsert.after_replace:2",
    "load.after_tables:1",
    "pipeline.before_analytics",
]
# With the export points (test_rel_concurrency.py): 13 named points, 15 placements.


def _crash_then_rerun(sim: RunningSimulator, warehouse: Path, workdir: Path, point: str) -> None:
    env = child_env(sim, warehouse)
    crashed = run_child(env, workdir, crash_at=point)
    assert crashed.returncode == SIGKILLED, (point, crashed.returncode, crashed.stderr[-2000:])
    rerun = sync_here(sim, warehouse)
    assert rerun.status == "ok", rerun.as_dict()


@pytest.mark.slow
@pytest.mark.parametrize("point", FULL_SYNC_POINTS)
def test_full_sync_killed_at_a_point_then_rerun_equals_a_clean_run(
    point: str, references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    warehouse = tmp_path / "zoom.duckdb"
    _crash_then_rerun(fresh_sim(), warehouse, tmp_path, point)
    assert_same_data(warehouse, references.full)


@pytest.mark.slow
@pytest.mark.parametrize("point", INCREMENTAL_POINTS)
def test_incremental_sync_killed_at_a_point_then_rerun_equals_a_clean_run(
    point: str, references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    warehouse = references.copy("full", tmp_path / "zoom.duckdb")
    sim = fresh_sim()
    sim.advance(days=DAY_STEP)
    _crash_then_rerun(sim, warehouse, tmp_path, point)
    assert_same_data(warehouse, references.incremental)


@pytest.mark.slow
def test_killed_twice_in_a_row_then_rerun_equals_a_clean_run(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    warehouse = tmp_path / "zoom.duckdb"
    sim = fresh_sim()
    env = child_env(sim, warehouse)
    for point in ("load.after_tables:3", "load.after_state:2"):
        assert run_child(env, tmp_path, crash_at=point).returncode == SIGKILLED
    assert sync_here(sim, warehouse).status == "ok"
    assert_same_data(warehouse, references.full)


@pytest.mark.slow
def test_killed_from_outside_mid_extraction_then_rerun_equals_a_clean_run(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    """``kill -9`` from another process, at a moment chosen by progress (requests served), not a timer."""
    sim = fresh_sim()
    warehouse = tmp_path / "zoom.duckdb"
    env = child_env(sim, warehouse)
    child = subprocess.Popen(
        child_command(50), env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert sim.wait_for_requests(120, timeout=120), "the child never got going"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        _, err = child.communicate(timeout=60)
    assert child.returncode == SIGKILLED, err.decode()[-2000:]
    assert sync_here(sim, warehouse).status == "ok"
    assert_same_data(warehouse, references.full)


@pytest.mark.slow
def test_cli_sync_killed_between_rows_and_state_then_rerun_equals_a_clean_run(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    """The same through ``zoom-etl sync`` itself (its default batches: here, one per run)."""
    warehouse = tmp_path / "zoom.duckdb"
    env = child_env(fresh_sim(), warehouse)
    crashed = run_cli(["sync"], {**env, "ZOOM_ETL_CRASH_AT": "load.after_tables"}, tmp_path)
    assert crashed.returncode == SIGKILLED, crashed.stderr[-2000:]
    rerun = run_cli(["sync"], env, tmp_path)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert orjson.loads(rerun.stdout)["status"] == "ok"
    assert_same_data(warehouse, references.full)


# A writer that commits ~80 MB through the WAL (each transaction under a row group, so none bypasses it;
# checkpoints held off) and is killed: the WAL a bench-size sync killed mid-load leaves, made on purpose
# in seconds. Measured: `zoom-etl sync` of the bench profile killed at pipeline.before_analytics (75 s)
# left a 57.6 MB WAL and the next sync failed; one in batches of 100 left 24.8 MB and did not.
_WAL_WRITER = """
import os, signal, sys
from etl.warehouse.connection import Warehouse
wh = Warehouse.open(sys.argv[1])
wh.conn.execute("SET checkpoint_threshold = '1GB'")
wh.conn.execute("CREATE TABLE main.ballast (id BIGINT, s VARCHAR, u VARCHAR)")
for i in range(90):
    with wh.transaction() as conn:
        conn.execute(
            "INSERT INTO main.ballast SELECT i, md5(i::VARCHAR) || repeat('x', 100), uuid()::VARCHAR"
            " FROM range(?, ? + 5000) r(i)", [i * 5000, i * 5000]
        )
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.slow
def test_sync_after_a_kill_that_left_a_large_wal_is_ok(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    """Replaying a WAL larger than the memory limit spills to the temporary directory; the limit and
    the directory set after the replay made the very next sync fail ("Cannot switch temporary directory
    after the current one has been used"); it cleared only on the run after."""
    warehouse = references.copy("full", tmp_path / "zoom.duckdb")
    env = child_env(fresh_sim(), warehouse)
    writer = subprocess.run(
        [sys.executable, "-c", _WAL_WRITER, str(warehouse)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert writer.returncode == SIGKILLED, writer.stderr[-2000:]
    wal = warehouse.with_name(warehouse.name + ".wal")
    assert wal.stat().st_size > 64 * 2**20, wal.stat().st_size
    rerun = sync_here(fresh_sim(), warehouse)
    assert rerun.status == "ok", rerun.as_dict()
    assert not wal.exists()
    assert_same_data(warehouse, references.full)


@pytest.mark.slow
def test_a_killed_run_is_marked_interrupted_by_the_next_one_and_status_shows_it(
    fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    warehouse = tmp_path / "zoom.duckdb"
    env = child_env(fresh_sim(), warehouse)
    crashed = run_child(env, tmp_path, crash_at="load.after_commit:2")
    assert crashed.returncode == SIGKILLED, crashed.stderr[-2000:]
    assert run_cli(["sync"], env, tmp_path).returncode == 0
    status = run_cli(["status", "--json"], env, tmp_path)
    assert status.returncode == 0, status.stderr[-2000:]
    killed, last = sorted(orjson.loads(status.stdout)["runs"], key=lambda run: run["started_at"])
    assert last["status"] == "ok"
    assert killed["status"] == "interrupted" and killed["exit_code"] is None
    assert killed["started_at"] < killed["ended_at"] < last["started_at"]  # its last committed batch
    assert f"noticed by run {last['run_id']}" in killed["message"]
    text = run_cli(["status"], env, tmp_path).stdout
    [line] = [line for line in text.splitlines() if killed["run_id"] in line]
    assert "interrupted" in line.split() and "running" not in text


@pytest.mark.slow
def test_a_killed_rebuild_leaves_no_staging_table_to_export_and_the_next_open_drops_them(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    """A warehouse without a read copy (synced before read copies existed) is what readers open itself:
    a rebuild killed there leaves its staging tables (``zoom._rebuild_*``) in it."""
    warehouse = references.copy("full", tmp_path / "zoom.duckdb")
    env = child_env(fresh_sim(), warehouse)
    crashed = run_cli(["rebuild"], {**env, "ZOOM_ETL_CRASH_AT": "upsert.after_replace:3"}, tmp_path)
    assert crashed.returncode == SIGKILLED, crashed.stderr[-2000:]
    shadows = (
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'zoom' AND starts_with(table_name, '_')"
    )
    with open_read_only(warehouse) as conn:
        assert conn.execute(shadows).fetchone() != (0,)  # what the kill left

    out = tmp_path / "export"
    exported = run_cli(["export", "parquet", "--out", str(out), "--format", "json"], env, tmp_path)
    assert exported.returncode == 0, exported.stderr[-2000:]
    tables = {orjson.loads(line)["table"] for line in exported.stdout.splitlines()}
    with open_read_only(references.full) as conn:
        names = conn.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'zoom'").fetchall()
        expected = {n for (n,) in names}
        # A table with no rows (zoom.events without webhooks) is reported, but has no partition to write.
        with_rows = {n for n in expected if conn.execute(f"SELECT count(*) FROM zoom.{n}").fetchone() != (0,)}
    folders = {p.name for p in out.iterdir() if p.is_dir()} - {"_zoom_etl"}  # the lake's bookkeeping
    assert tables == expected and folders == with_rows

    assert sync_here(fresh_sim(), warehouse).status == "ok"  # opening the warehouse drops them
    with open_read_only(warehouse) as conn:
        assert conn.execute(shadows).fetchone() == (0,)
    assert_same_data(warehouse, references.full)
