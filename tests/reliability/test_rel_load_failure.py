"""A write that fails while streams are still downloading (a full disk, a value DuckDB refuses) ends the
run: the download threads are told to stop, the process exits 1 within seconds, the run is recorded as
failed and the warehouse lock is released, so the next cron run is not turned away with exit 75.

The failure is injected at a real seam, inside the loader's transaction (``ZOOM_ETL_FAIL_AT``, see
``etl.crashpoints``): an ``OSError`` ENOSPC on the loader thread, as a full disk raises it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import orjson
from reliability_kit import child_env, run_cli

from etl.simulator.server import RunningSimulator
from etl.warehouse.lock import WarehouseLock
from etl.warehouse.reader import open_read_only

EXIT_WITHIN_S = 30.0  # a clean tiny sync takes a few seconds; before the fix the process never exited
HANG_TIMEOUT_S = 60.0


def test_a_load_failure_mid_extraction_exits_1_records_failed_and_releases_the_lock(
    fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    reference = fresh_sim()
    clean = run_cli(["sync"], child_env(reference, tmp_path / "clean.duckdb"), tmp_path)
    assert clean.returncode == 0, clean.stderr[-2000:]
    full_requests = reference.stats()["requests"]

    sim = fresh_sim()
    warehouse = tmp_path / "zoom.duckdb"
    # The second batch's transaction fails after its rows are written, before its state: rolled back.
    env = child_env(sim, warehouse, ZOOM_ETL_FAIL_AT="load.after_tables:2")
    started = time.monotonic()
    # Small batches: the failing commit comes while every stream is still downloading.
    failed = run_cli(["sync", "--batch-rows", "20"], env, tmp_path, timeout=HANG_TIMEOUT_S)
    elapsed = time.monotonic() - started

    assert failed.returncode == 1, (failed.returncode, failed.stderr[-2000:])
    assert elapsed < EXIT_WITHIN_S, elapsed
    summary = orjson.loads(failed.stdout)
    assert summary["status"] == "failed" and summary["exit_code"] == 1, summary
    assert "No space left on device" in summary["error"], summary
    assert "Traceback" not in failed.stderr, failed.stderr[-2000:]
    # The downloads stopped: far fewer requests than a whole sync makes.
    assert sim.stats()["requests"] < full_requests, (sim.stats()["requests"], full_requests)

    lock = WarehouseLock(warehouse)
    lock.acquire()  # LockedError if the failed run still held it
    lock.release()
    with open_read_only(warehouse) as conn:
        runs = conn.execute("SELECT status, exit_code, message FROM _etl.runs").fetchall()
    assert [(status, code) for status, code, _ in runs] == [("failed", 1)], runs
    assert "No space left on device" in runs[0][2]

    # The next run, with nothing injected, completes the warehouse.
    healed = run_cli(["sync"], child_env(sim, warehouse), tmp_path)
    assert healed.returncode == 0, healed.stderr[-2000:]
