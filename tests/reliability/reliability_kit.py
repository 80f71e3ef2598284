"""What the reliability tests share: child-process syncs against an in-test simulator, and the one
comparison that decides whether two warehouses hold the same data (``bench.soak.table_diff``, which
the soak uses too).

"Same data" means every table of schema ``zoom`` (core tables and their ``*_history``) holds the same
multiset of rows, compared with ``EXCEPT ALL`` both ways, ignoring only the bookkeeping columns that
record *when* and *by which run* a row was written: ``_run_id`` and ``_synced_at`` everywhere, and in
history tables ``valid_from``/``valid_to``, which the loader takes from the page's wall-clock
``fetched_at`` (see ``etl.load.upsert.version``). Whether a version is current, its row hash and its
values are compared; ``history_problems`` checks separately that the time columns form a proper chain.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
from simenv import sim_environ

from bench.soak import child_command, history_problems, table_diff
from etl.simulator.server import RunningSimulator

__all__ = ["child_command", "history_problems", "table_diff"]

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
CHILD_TIMEOUT = 120.0


def child_env(sim: RunningSimulator, warehouse: Path, **extra: str) -> dict[str, str]:
    """A clean environment for a child ``zoom-etl``: credentials and URLs of ``sim``, nothing inherited
    that could change settings (no ``ZOOM_*`` of the developer's shell)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM")}
    # This checkout's code first: the virtualenv's editable install may point at another checkout.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(sim_environ(sim, warehouse, ZOOM_ETL_LOG_FORMAT="json", PYTHONDONTWRITEBYTECODE="1"))
    env.update(extra)
    return env


def run_cli(
    args: Sequence[str], env: Mapping[str, str], cwd: Path, *, timeout: float = CHILD_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """``python -m etl ARGS`` in ``cwd`` (a temp dir: no stray ``zoom-etl.toml`` is read)."""
    return subprocess.run(
        [PYTHON, "-m", "etl", *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_child(
    env: Mapping[str, str], cwd: Path, *, batch_rows: int = 100, crash_at: str | None = None
) -> subprocess.CompletedProcess[str]:
    """A sync in a child process (``python -m bench.soak child``: settings from the environment, as
    the CLI reads them) with small batches, so crash points inside a run are reachable; ``crash_at`` arms
    ``ZOOM_ETL_CRASH_AT``."""
    env = dict(env)
    env.pop("ZOOM_ETL_CRASH_AT", None)
    if crash_at:
        env["ZOOM_ETL_CRASH_AT"] = crash_at
    return subprocess.run(
        child_command(batch_rows),
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        check=False,
    )


@contextmanager
def held_sync(sim: RunningSimulator, warehouse: Path, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A child sync stopped mid-run (the simulator paused after some requests; its warehouse stays open
    and locked) instead of hoping a timer lines things up; resumed on exit."""
    started = sim.served  # an earlier sync's requests must not count as this one's progress
    child = subprocess.Popen(
        child_command(100),
        env=child_env(sim, warehouse),
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert sim.wait_for_requests(started + 20, timeout=120), "the sync never got going"
        sim.pause()
        yield child
    finally:
        sim.resume()
        child.communicate(timeout=120)


# ---- comparing warehouses: the one comparison, shared with the soak ------------------------------------


def open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a warehouse file, attached under a neutral name (a file called
    ``zoom.duckdb`` opened directly would make ``zoom.<table>`` ambiguous)."""
    conn = duckdb.connect()
    conn.execute(f"ATTACH '{path}' AS w (READ_ONLY)")
    conn.execute("USE w")
    return conn


def row_counts(path: Path) -> dict[str, int]:
    with open_read_only(path) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'zoom' AND table_type = 'BASE TABLE'"
            ).fetchall()
        ]
        return {t: conn.execute(f"SELECT count(*) FROM zoom.{t}").fetchone()[0] for t in tables}  # type: ignore[index]


def assert_same_data(actual: Path, expected: Path) -> None:
    """The one assertion of "nothing lost, nothing duplicated": identical ``zoom`` tables, sound history."""
    diff = table_diff(actual, expected)
    assert not diff, f"warehouse {actual.name} differs from {expected.name}: {diff}"
    problems = history_problems(actual)
    assert not problems, problems
    counts = row_counts(actual)
    assert counts["meeting_participants"] > 0 and counts["users_history"] > 0, counts
