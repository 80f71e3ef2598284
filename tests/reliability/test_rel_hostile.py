"""A hostile server (``hostile.py``): every misbehaviour ends a ``zoom-etl sync`` within a stated deadline,
with bounded memory, one clear error line and the documented exit code; a bad record lands in
``_etl.rejects`` while the rest of the listing loads, and does not block the next run.

Each case runs the real CLI in a child process (``sync --source rest --streams users``) against the server
on loopback, measures its wall time and peak RSS (``resource.getrusage(RUSAGE_CHILDREN)`` in a fresh
wrapper process), then reads the warehouse it left.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import orjson
import pytest
from hostile import BAD_USER, HUGE, USERS, Hostile, hostile_env, run_measured, start

SYNC = ["sync", "--source", "rest", "--streams", "users"]
CHILD_TIMEOUT = 90.0  # the test's own guard: before the fixes, several cases ran until this killed them
DEADLINE_S = 30.0  # every case ends within this (a clean sync of this listing takes about 3 s)
MEMORY_MIB = 400  # peak RSS of the sync (about 190 MiB at rest: Python, Polars, DuckDB)
GOOD_IDS = sorted(u["id"] for u in USERS)


@pytest.fixture
def server() -> Iterator[Hostile]:
    running = start()
    yield running
    running.shutdown()
    running.server_close()


def _sync(server: Hostile, tmp_path: Path, mode: str, **env: str) -> tuple[int, str, dict, int, float]:
    """(exit code, the one error line or "", the JSON summary, peak RSS MiB, seconds)."""
    server.mode = mode
    environ = hostile_env(server, tmp_path / "hostile.duckdb", api_url=mode != "foreign_api_url", **env)
    done, peak, seconds = run_measured(SYNC, environ, tmp_path, timeout=CHILD_TIMEOUT)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line or "error:" in line]
    assert len(errors) <= 1, errors
    summary = orjson.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, errors[0] if errors else "", summary, peak, seconds


def _query(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


BOUNDS = {
    # mode: (extra environment, the error it must name)
    "too_large": ({"ZOOM_ETL_MAX_RESPONSE_MB": "8"}, "declares 2,147,483,648 bytes, over the 8 MB limit"),
    "endless": ({"ZOOM_ETL_MAX_RESPONSE_MB": "8"}, "passed 8,388,608 bytes, over the 8 MB limit"),
    "trickle": ({"ZOOM_ETL_REQUEST_DEADLINE": "2"}, "not complete within the 2 s request deadline"),
}


@pytest.mark.slow
@pytest.mark.parametrize("mode", BOUNDS)
def test_a_body_too_large_endless_or_trickling_ends_the_run_in_time_and_memory(
    server: Hostile, tmp_path: Path, mode: str
) -> None:
    env, message = BOUNDS[mode]
    code, error, summary, peak, seconds = _sync(server, tmp_path, mode, **env)
    assert code == 1, (code, error)
    assert message in error and "GET /v2/users" in error, error
    assert summary["status"] == "failed" and message in summary["error"], summary
    assert seconds < DEADLINE_S, seconds
    assert 0 < peak < MEMORY_MIB, peak
    # The run is recorded as failed, and the lock was released: the warehouse opens.
    assert _query(tmp_path / "hostile.duckdb", "SELECT status, exit_code FROM _etl.runs") == [("failed", 1)]


NEVER_ENDING = {
    "empty_pages": ("10 empty pages in a row, each with a new token", []),
    "repeated_token": ("next_page_token 'again'... repeated", ["u-1"]),
    # 2 x ceil(4 / 1) + 10 pages are allowed: the 19th stops the listing
    "beyond_total": (
        "19 pages, far beyond total_records 4 at page_size 1",
        [f"u-p{i:03d}" for i in range(19)],
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("mode", NEVER_ENDING)
def test_a_listing_that_never_ends_is_stopped_as_a_skip_and_a_gap(
    server: Hostile, tmp_path: Path, mode: str
) -> None:
    message, loaded = NEVER_ENDING[mode]
    code, error, summary, peak, seconds = _sync(server, tmp_path, mode)
    assert (code, summary["status"], error) == (3, "partial", ""), (code, summary, error)
    assert summary["gaps"] == {"users": 1}, summary
    assert seconds < DEADLINE_S and 0 < peak < MEMORY_MIB, (seconds, peak)
    warehouse = tmp_path / "hostile.duckdb"
    skips = _query(warehouse, "SELECT stream, reason FROM _etl.skips")
    assert skips == [("users", f"GET /users: {message}")], skips
    assert _query(warehouse, "SELECT reason FROM _etl.gaps") == [(f"listing stopped: GET /users: {message}",)]
    # What came before the loop is kept.
    assert [r[0] for r in _query(warehouse, "SELECT id FROM zoom.users ORDER BY id")] == loaded


BAD_RECORDS = {
    "invalid_utf8": ("invalid UTF-8 or a lone surrogate in a string", "Ren\ufffd \ufffd\ufffd"),
    "lone_surrogate": ("invalid UTF-8 or a lone surrogate in a string", "Bad \ufffd name"),
    "deep": ("nested too deep to store", "Plain"),
}


@pytest.mark.slow
@pytest.mark.parametrize("mode", BAD_RECORDS)
def test_a_bad_record_goes_to_rejects_and_the_rest_loads_run_after_run(
    server: Hostile, tmp_path: Path, mode: str
) -> None:
    reason, name = BAD_RECORDS[mode]
    warehouse = tmp_path / "hostile.duckdb"
    for run in (1, 2):  # the next run is not blocked by the record: partial again, everything else in
        code, error, summary, peak, seconds = _sync(server, tmp_path, mode)
        assert (code, summary["status"], error) == (3, "partial", ""), (run, code, summary, error)
        assert summary["rejects"] == 1 and summary["rows"] == {"users": 4}, summary
        assert seconds < DEADLINE_S and 0 < peak < MEMORY_MIB, (seconds, peak)
    assert [r[0] for r in _query(warehouse, "SELECT id FROM zoom.users ORDER BY id")] == GOOD_IDS
    rejects = _query(warehouse, "SELECT table_name, reason, payload, stream FROM _etl.rejects")
    assert len(rejects) == 2, rejects  # one per run
    for table, why, payload, stream in rejects:
        assert (table, stream) == ("users", "users") and why.startswith(reason), why
        record = orjson.loads(payload)
        assert record["id"] == BAD_USER and record["first_name"] == name, record


@pytest.mark.slow
def test_a_16_mb_string_loads_whole_in_bounded_memory(server: Hostile, tmp_path: Path) -> None:
    code, error, summary, peak, seconds = _sync(server, tmp_path, "huge_string")
    assert (code, error, summary["rows"]) == (0, "", {"users": 5}), (code, error, summary)
    assert seconds < DEADLINE_S and 0 < peak < 1024, (seconds, peak)
    rows = _query(
        tmp_path / "hostile.duckdb", f"SELECT length(first_name) FROM zoom.users WHERE id = '{BAD_USER}'"
    )
    assert rows == [(HUGE,)]


@pytest.mark.slow
def test_a_foreign_api_url_with_the_default_base_exits_2_and_the_token_goes_nowhere(
    server: Hostile, tmp_path: Path
) -> None:
    code, error, summary, _, seconds = _sync(server, tmp_path, "foreign_api_url")
    assert code == 2, (code, error)
    assert "api_url host '127.0.0.1' is not Zoom's (*.zoom.us, *.zoomgov.com)" in error, error
    assert "ZOOM_API_URL" in error and "hostile-token" not in error
    assert summary["exit_code"] == 2 and summary["status"] == "failed", summary
    assert server.api_requests() == []  # the token was asked for, and never sent anywhere
    assert seconds < DEADLINE_S
