"""``zoom-etl status --check``: exit 0 and "ok", or exit 1 and one line per problem, for each reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from click.testing import Result

from etl.alerts import check
from etl.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from etl.warehouse.connection import Warehouse

Run = Callable[..., Result]
STREAMS = ("users", "meetings")


def _warehouse(path: Path, *runs: dict[str, object], gaps_of_last: int = 0) -> Path:
    """A warehouse whose runs (oldest first) ended ``ago`` before now (default: 10 min apart), with
    ``status``, ``streams``, ``rejects``, ``skips``; the last run leaves ``gaps_of_last`` gaps of meetings."""
    now = datetime.now(UTC)  # the check compares with the wall clock: runs are placed relative to it
    with Warehouse.open(path, publish=True) as wh:
        run_id = ""
        for i, run in enumerate(runs):
            ended = now - run.get("ago", timedelta(minutes=10 * (len(runs) - i)))  # type: ignore[operator]
            streams = run.get("streams", STREAMS)
            run_id = wh.start_run(streams, run_id=f"run-{i}", started_at=ended - timedelta(minutes=1))  # type: ignore[arg-type]
            status = str(run.get("status", "ok"))
            wh.finish_run(
                run_id,
                status=status,
                exit_code={"ok": 0, "partial": 3, "failed": 1}[status],
                message=str(run.get("message", "")),
                ended_at=ended,
            )
            wh.conn.execute(
                "UPDATE _etl.runs SET rejects = ?, skips = ? WHERE run_id = ?",
                [run.get("rejects", 0), run.get("skips", 0), run_id],
            )
            for stream in streams:  # type: ignore[attr-defined]
                wh.conn.execute(
                    "INSERT OR REPLACE INTO _etl.state VALUES (?, 'acct', '{}', 'graphql', ?, ?)",
                    [stream, ended, run_id],
                )
        for day in range(gaps_of_last):
            wh.conn.execute(
                "INSERT INTO _etl.gaps VALUES ('meetings', 'acct', 'u1', ?, ?, 'dropped items', ?, ?)",
                [date(2026, 11, 1 + day), date(2026, 11, 1 + day), run_id, now],
            )
    return path


def test_all_well_says_ok_and_exits_0(run: Run, tmp_path: Path) -> None:
    path = _warehouse(tmp_path / "w.duckdb", {"ago": timedelta(hours=3)}, {"ago": timedelta(minutes=30)})
    result = run("status", "--check", "--max-age", "2h", "--warehouse", str(path))
    assert result.exit_code == EXIT_OK, result.output
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("ok")
    assert orjson.loads(run("status", "--check", "--json", "--warehouse", str(path)).stdout) == {
        "ok": True,
        "problems": [],
    }


def test_a_stale_stream_is_named_with_its_age(run: Run, tmp_path: Path) -> None:
    path = _warehouse(
        tmp_path / "w.duckdb",
        {"ago": timedelta(hours=3, minutes=12, seconds=5)},
        {"ago": timedelta(minutes=5), "streams": ("users",)},
    )
    result = run("status", "--check", "--max-age", "2h", "--warehouse", str(path))
    assert result.exit_code == EXIT_FAILED, result.output
    assert result.stdout.splitlines() == ["stale: meetings last synced 3 h 12 min ago (max age 2 h)"]
    assert run("status", "--check", "--max-age", "4h", "--warehouse", str(path)).exit_code == EXIT_OK


def test_a_failed_last_run(run: Run, tmp_path: Path) -> None:
    path = _warehouse(
        tmp_path / "w.duckdb",
        {},
        {"status": "failed", "message": "OAuth refused", "ago": timedelta(minutes=1)},
    )
    result = run("status", "--check", "--json", "--warehouse", str(path))
    assert result.exit_code == EXIT_FAILED
    [problem] = orjson.loads(result.stdout)["problems"]
    assert problem["reason"] == "failed" and "run-1" in problem["message"] and "OAuth" in problem["message"]


@pytest.mark.parametrize("reason", ["rejects", "skips"])
def test_rejects_or_skips_that_grew(run: Run, tmp_path: Path, reason: str) -> None:
    grew = _warehouse(tmp_path / "grew.duckdb", {reason: 1}, {reason: 4, "status": "partial"})
    result = run("status", "--check", "--warehouse", str(grew))
    assert result.exit_code == EXIT_FAILED
    assert result.stdout.splitlines() == [
        f"{reason}: 4 {'rows rejected' if reason == 'rejects' else 'resources skipped'} in the last run run-1"
        " (the run before: 1)"
    ]
    same = _warehouse(
        tmp_path / "same.duckdb", {reason: 4, "status": "partial"}, {reason: 4, "status": "partial"}
    )
    assert run("status", "--check", "--warehouse", str(same)).exit_code == EXIT_OK


def test_gaps_left_by_the_last_run(tmp_path: Path) -> None:
    path = _warehouse(tmp_path / "w.duckdb", {}, {"status": "partial"}, gaps_of_last=3)
    problems = check(path, max_age_seconds=3600)
    assert [(p.reason, p.stream) for p in problems] == [("gaps", "meetings")]
    assert "3 outstanding gaps" in problems[0].message


def test_never_synced_and_bad_max_age(run: Run, tmp_path: Path) -> None:
    empty = tmp_path / "w.duckdb"
    with Warehouse.open(empty, publish=True):
        pass
    result = run("status", "--check", "--warehouse", str(empty))
    assert (result.exit_code, result.stdout) == (EXIT_FAILED, "no sync has finished yet\n")
    bad = run("status", "--check", "--max-age", "two hours", "--warehouse", str(empty))
    assert bad.exit_code == EXIT_USAGE and "2h" in bad.output


def test_status_text_has_headers_and_humane_ages(run: Run, tmp_path: Path) -> None:
    path = _warehouse(tmp_path / "w.duckdb", {"ago": timedelta(hours=3, minutes=12, seconds=5)})
    result = run("status", "--warehouse", str(path), env={"COLUMNS": "100"})
    assert result.exit_code == EXIT_OK, result.output
    lines = result.stdout.splitlines()
    assert max(len(ln) for ln in lines if str(tmp_path) not in ln) <= 100  # a long path is a long path
    assert ["run", "ended", "status", "exit", "rows", "requests", "skips", "rejects"] in [
        ln.split() for ln in lines
    ]
    assert ["stream", "account", "source", "watermark", "synced"] in [ln.split() for ln in lines]
    assert any(ln.split()[:2] == ["meetings", "acct"] and ln.endswith("3 h 12 min ago") for ln in lines)
    assert "h ago" not in result.stdout.replace(" h ago", "")  # never "0.0h ago"


def test_streams_lists_the_scopes_each_needs(run: Run) -> None:
    from etl.doctor import SCOPES
    from etl.streams import STREAMS

    rows = {r["stream"]: r for r in orjson.loads(run("streams", "--json").stdout)}
    for stream in STREAMS:
        assert rows[stream.name]["scopes"] == list(SCOPES[stream.rest[0].path])
    text = run("streams").stdout
    assert "    scopes: report:read:admin" in text and "    scopes: user:read:admin" in text
