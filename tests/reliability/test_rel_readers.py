"""Readers and the cron side by side: no reader blocks a sync, no sync breaks a reader.

Real processes throughout: an outside DuckDB session (a second Python process with its own connection,
as a notebook or the DuckDB CLI would hold one), syncs in child processes held mid-run by pausing the
simulator, and the read commands run as ``python -m etl``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from conftest import sync_here
from reliability_kit import PYTHON, child_env, held_sync, run_cli

from etl.simulator.server import RunningSimulator
from etl.warehouse.publish import read_path

EXIT_LOCKED = 75

# A DuckDB session in another process, opened on a path given as argv[1] exactly as an analyst would open
# it (no ATTACH alias). Each line on stdin asks for what it sees now; "reopen" reconnects first.
SESSION = """
import sys, duckdb
path, read_only = sys.argv[1], sys.argv[2] == "ro"
conn = duckdb.connect(path, read_only=read_only)
print("ready", flush=True)
for line in sys.stdin:
    if line.strip() == "reopen":
        conn.close()
        conn = duckdb.connect(path, read_only=read_only)
    runs = conn.execute("SELECT count(*) FROM _etl.runs WHERE status = 'ok'").fetchone()[0]
    instances = conn.execute("SELECT count(*) FROM zoom.meeting_instances").fetchone()[0]
    print(runs, instances, conn.execute("SELECT current_database()").fetchone()[0], flush=True)
"""


class Session:
    """The outside session: ``ask()`` what it sees on its open connection, ``reopen()`` and ask."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process

    def _line(self, command: str) -> list[str]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().split()

    def ask(self) -> tuple[int, int, str]:
        runs, instances, catalog = self._line("ask")
        return int(runs), int(instances), catalog

    def reopen(self) -> tuple[int, int, str]:
        runs, instances, catalog = self._line("reopen")
        return int(runs), int(instances), catalog


@contextmanager
def outside_session(path: Path, *, read_only: bool = True) -> Iterator[Session]:
    command = [PYTHON, "-c", SESSION, str(path), "ro" if read_only else "rw"]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdin is not None and process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        yield Session(process)
        process.stdin.close()  # the session ends: its connection closes
        process.wait(timeout=30)


def published_counts(warehouse: Path) -> tuple[int, int]:
    with outside_session(read_path(warehouse)) as session:
        runs, instances, _ = session.ask()
    return runs, instances


@pytest.mark.slow
def test_a_session_holding_the_read_copy_open_through_ten_syncs(
    fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    """Ten syncs with new data each, while a session keeps the read copy open: all succeed; the open
    connection keeps the version it opened (never a mix); a reconnect sees the newest sync."""
    sim = fresh_sim()
    warehouse = tmp_path / "zoom.duckdb"
    assert sync_here(sim, warehouse).status == "ok"
    with outside_session(read_path(warehouse)) as session:
        seen = session.ask()
        assert seen[0] == 1 and seen[1] > 0
        assert seen[2] == "zoom_read"  # the file's own catalog name: no clash with the schema zoom
        grew = 0
        for n in range(2, 12):
            sim.advance(days=1)
            result = sync_here(sim, warehouse)
            assert result.status == "ok", result.as_dict()
            assert session.ask() == seen  # the open connection still reads the version it opened
            now = session.reopen()
            assert now[0] == n  # the newest sync, whole
            grew += now[1] > seen[1]
            seen = now
        assert grew >= 5  # new meetings came in on most of the simulated days


@pytest.mark.slow
def test_read_commands_answer_from_the_last_published_state_during_a_sync(
    fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    """sql, report, status, docs and export while a sync holds the warehouse: exit 0 at once, each the
    state of the last finished sync (none of the running sync's batches); status shows the running one."""
    sim = fresh_sim()
    warehouse = tmp_path / "zoom.duckdb"
    env = child_env(sim, warehouse)
    assert sync_here(sim, warehouse).status == "ok"
    before = published_counts(warehouse)
    sql = ["sql", "SELECT count(*) AS n FROM zoom.meeting_participants", "--format", "json"]
    expected_sql = run_cli(sql, env, tmp_path).stdout
    sim.advance(days=1)
    with held_sync(sim, warehouse, tmp_path) as running:
        answers = {
            "sql": run_cli(sql, env, tmp_path),
            "report": run_cli(["report", "daily_meetings", "--format", "json"], env, tmp_path),
            "status": run_cli(["status", "--json"], env, tmp_path),
            "docs": run_cli(["docs"], env, tmp_path),
            "export": run_cli(["export", "parquet", "--out", str(tmp_path / "bi")], env, tmp_path),
        }
        during = published_counts(warehouse)
        assert running.poll() is None  # all of that happened while the sync was held
    for name, answer in answers.items():
        assert answer.returncode == 0, (name, answer.stderr[-2000:])
    assert answers["sql"].stdout == expected_sql
    assert during == before
    status = orjson.loads(answers["status"].stdout)
    assert status["read_path"] == str(read_path(warehouse))
    assert status["running"]["pid"] == running.pid
    assert [r["status"] for r in status["runs"]] == ["ok"]  # the published state: the first sync only
    assert running.returncode == 0
    after = published_counts(warehouse)
    assert after[0] == 2 and after[1] >= before[1]
    assert run_cli(sql, env, tmp_path).stdout != expected_sql  # the second day's participants are in


@pytest.mark.slow
def test_a_session_on_the_warehouse_itself_makes_the_sync_exit_75_with_a_record_and_wait_waits(
    fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    """Whatever holds the lock, the exit code is 75 with a one-line JSON record; --wait waits for it."""
    sim = fresh_sim()
    warehouse = tmp_path / "zoom_etl.duckdb"  # the default name: opens with no alias
    env = child_env(sim, warehouse)
    assert sync_here(sim, warehouse).status == "ok"
    with outside_session(warehouse) as session:  # the old advice: ATTACH the warehouse READ_ONLY
        session.ask()
        refused = run_cli(["sync"], env, tmp_path)
        assert refused.returncode == EXIT_LOCKED, refused.stderr[-2000:]
        assert "Traceback" not in refused.stderr
        (line,) = refused.stdout.splitlines()
        record = orjson.loads(line)
        assert record["status"] == "locked" and record["exit_code"] == EXIT_LOCKED
        assert f"pid {session.process.pid}" in record["error"] and "zoom_etl_read.duckdb" in record["error"]
        command = [sys.executable, "-m", "etl", "sync", "--wait", "60"]
        waiting = subprocess.Popen(
            command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert waiting.stderr is not None
        said = waiting.stderr.readline()  # its first log line: it found the file held and waits
        assert "waiting up to 60s for the warehouse" in said and waiting.poll() is None
    with waiting:
        out, _ = waiting.communicate(timeout=120)  # the session closed on leaving the block above
    assert waiting.returncode == 0
    assert orjson.loads(out)["status"] == "ok"
