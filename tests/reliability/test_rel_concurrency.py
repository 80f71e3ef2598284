"""Concurrency and exports: two syncs on one warehouse, a sync and an export, an export killed midway.

A sync is held mid-run by pausing the simulator (its requests wait; its warehouse stays open and
locked) instead of hoping a timer lines things up. The documented behaviour (``etl.errors``,
``etl/cli/export.py``): a second sync exits 75 at once with a one-line JSON record, an export during the
very first sync (nothing published yet) exits 75, and the held sync, once resumed, finishes as if nothing
happened. Readers beside a sync of a warehouse that has a read copy: ``test_rel_readers.py``.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import duckdb
import orjson
import pytest
from conftest import References, sync_here
from reliability_kit import assert_same_data, child_env, held_sync, open_read_only, run_cli

from etl.simulator.server import RunningSimulator

EXIT_LOCKED = 75


@pytest.mark.slow
def test_second_sync_exits_75_at_once_and_the_first_is_unaffected(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    sim = fresh_sim()
    warehouse = tmp_path / "zoom.duckdb"
    with held_sync(sim, warehouse, tmp_path) as first:
        second = run_cli(["sync"], child_env(sim, warehouse), tmp_path)
        # It returned while the first was still held: it did not wait for the lock.
        assert first.poll() is None
        assert second.returncode == EXIT_LOCKED, second.stderr[-2000:]
        assert "Traceback" not in second.stderr and "in use by another zoom-etl process" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        record = orjson.loads(second.stdout)  # exactly one line: the cron log's record of the refusal
        assert second.stdout.count("\n") == 1
        assert record["status"] == "locked" and record["exit_code"] == EXIT_LOCKED
        assert f"pid {first.pid}" in record["error"]
    assert first.returncode == 0
    assert_same_data(warehouse, references.full)


@pytest.mark.slow
def test_export_during_the_first_sync_exits_75_then_exports_once_it_is_done(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    sim = fresh_sim()
    warehouse = tmp_path / "zoom.duckdb"
    out = tmp_path / "export"
    env = child_env(sim, warehouse)
    with held_sync(sim, warehouse, tmp_path) as first:
        blocked = run_cli(["export", "parquet", "--out", str(out)], env, tmp_path)
        assert first.poll() is None
        assert blocked.returncode == EXIT_LOCKED, blocked.stderr[-2000:]
        assert "Traceback" not in blocked.stderr and "open for writing" in blocked.stderr
        assert not out.exists()
    assert first.returncode == 0
    done = run_cli(["export", "parquet", "--out", str(out)], env, tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_export_equals_warehouse(out, warehouse)
    assert_same_data(warehouse, references.full)


@pytest.mark.slow
@pytest.mark.parametrize("point", ["export.after_table:3", "export.before_swap", "export.mid_swap:2"])
def test_export_killed_midway_keeps_the_previous_export_and_the_next_one_is_complete(
    point: str, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    sim = fresh_sim()
    warehouse = tmp_path / "zoom.duckdb"
    out = tmp_path / "export"
    env = child_env(sim, warehouse)
    assert sync_here(sim, warehouse).status == "ok"
    assert run_cli(["export", "parquet", "--out", str(out)], env, tmp_path).returncode == 0
    before = _exported_rows(out)
    sim.advance(days=1)
    assert sync_here(sim, warehouse).status == "ok"  # new data: the next export has work to do
    killed = run_cli(["export", "parquet", "--out", str(out)], {**env, "ZOOM_ETL_CRASH_AT": point}, tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    if point == "export.mid_swap:2":  # the swap was decided: each table is whole, before or after
        assert list((out / "_zoom_etl" / "journal").glob("*.json"))
        with open_read_only(warehouse) as conn:
            now = {t: conn.execute(f"SELECT count(*) FROM zoom.{t}").fetchall()[0][0] for t in before}
        after = _exported_rows(out)
        assert all(after.get(t) in (before[t], now[t]) for t in before), (before, after, now)
        assert after != before  # some folder was swapped in
    else:
        assert _exported_rows(out) == before  # the previous export, whole: never half of each
    again = run_cli(["export", "parquet", "--out", str(out)], env, tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert_export_equals_warehouse(out, warehouse)
    assert not list((out / "_zoom_etl" / "staging").iterdir())  # the crashed export's leftovers are gone
    assert not list((out / "_zoom_etl" / "journal").iterdir())


def _exported_rows(out: Path) -> dict[str, int]:
    conn = duckdb.connect()
    counts = {}
    for table in sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("_")):
        counts[table] = conn.execute(
            f"SELECT count(*) FROM read_parquet('{out / table}/**/*.parquet', hive_partitioning = true)"
        ).fetchone()[0]  # type: ignore[index]
    conn.close()
    return counts


def assert_export_equals_warehouse(out: Path, warehouse: Path) -> None:
    """Every ``zoom`` table comes back from the Parquet export row for row (JSON columns as text)."""
    with open_read_only(warehouse) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'zoom' AND table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        for table in tables:
            if conn.execute(f"SELECT count(*) FROM zoom.{table}").fetchone() == (0,):
                assert not (out / table).exists(), table  # no rows (zoom.events without webhooks): no folder
                continue
            columns = [r[0] for r in conn.execute(f"DESCRIBE zoom.{table}").fetchall()]
            cols = ", ".join(f'"{c}"::VARCHAR' for c in columns)
            exported = f"read_parquet('{out / table}/**/*.parquet', hive_partitioning = true)"
            for a, b in ((f"zoom.{table}", exported), (exported, f"zoom.{table}")):
                extra = conn.execute(
                    f"SELECT count(*) FROM (SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b})"
                ).fetchone()[0]  # type: ignore[index]
                assert extra == 0, (table, a, extra)
