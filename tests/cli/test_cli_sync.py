"""``sync``, ``status``, ``streams``, ``rebuild`` and ``demo`` as a user (or cron) runs them."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb
import orjson
import pytest
from click.testing import Result

from etl.errors import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_USAGE
from etl.simulator.clock import default_epoch
from etl.simulator.server import RunningSimulator
from etl.streams import STREAMS
from etl.warehouse.connection import Warehouse
from etl.warehouse.reader import open_read_only

Run = Callable[..., Result]
Env = Callable[[RunningSimulator], dict[str, str]]


def test_sync_prints_a_json_summary_and_status_reads_it_back(
    simulator: RunningSimulator, sim_env: Env, run: Run
) -> None:
    env = sim_env(simulator)
    synced = run("sync", env=env)
    assert synced.exit_code == EXIT_OK, synced.output
    summary = orjson.loads(synced.stdout)
    assert summary["status"] == "ok" and summary["rows"]["meeting_participants"] > 0
    assert summary["requests_by_category"]["heavy"] > 0

    status = run("status", "--json", env=env)
    assert status.exit_code == EXIT_OK, status.output
    report = orjson.loads(status.stdout)
    assert report["runs"][0]["run_id"] == summary["run_id"]
    assert report["tables"]["meeting_participants"] == summary["rows"]["meeting_participants"]
    assert {s["stream"] for s in report["streams"]} == {s.name for s in STREAMS}
    text = run("status", env=env)
    assert summary["run_id"] in text.stdout and "meeting_participants" in text.stdout


def test_sync_of_chosen_streams_and_dry_run(simulator: RunningSimulator, sim_env: Env, run: Run) -> None:
    env = sim_env(simulator)
    plan = run("sync", "--dry-run", "--streams", "users,meetings", env=env)
    assert plan.exit_code == EXIT_OK, plan.output
    [account] = orjson.loads(plan.stdout)
    assert [s["stream"] for s in account["streams"]] == ["users", "meetings"]
    assert not Path(env["ZOOM_ETL_WAREHOUSE"]).exists()

    synced = run("sync", "--streams", "users", "--streams", "meetings", env=env)
    assert synced.exit_code == EXIT_OK, synced.output
    assert set(orjson.loads(synced.stdout)["rows"]) == {"users", "meetings"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("sync", "--streams", "nope"), "unknown stream"),
        (("sync", "--since", "last tuesday"), "--since"),
        (("sync", "--rate-share", "7"), "rate"),
        (("sync", "--source", "soap"), "soap"),
    ],
)
def test_bad_usage_exits_2_with_one_line(
    simulator: RunningSimulator, sim_env: Env, run: Run, args: tuple[str, ...], needle: str
) -> None:
    result = run(*args, env=sim_env(simulator))
    assert result.exit_code == EXIT_USAGE, result.output
    assert needle in result.output
    assert "Traceback" not in result.output


def test_a_backfill_from_the_future_exits_2_and_leaves_the_history_to_the_next_run(
    simulator: RunningSimulator, sim_env: Env, run: Run, tmp_path: Path
) -> None:
    """A probe's `sync --since 2099-01-01` on a first sync said ok and moved every watermark to today, so
    the history before it was never fetched (daily_usage 4 rows instead of 188)."""
    env = sim_env(simulator)
    plan = run("sync", "--dry-run", "--since", "2099-01-01", env=env)
    assert plan.exit_code == EXIT_USAGE and "after Zoom's today" in plan.output, plan.output
    refused = run("sync", "--since", "2099-01-01", env=env)
    assert refused.exit_code == EXIT_USAGE, refused.output
    assert orjson.loads(refused.stdout)["status"] == "failed"
    assert run("sync", env=env).exit_code == EXIT_OK

    clean = {**env, "ZOOM_ETL_WAREHOUSE": str(tmp_path / "clean.duckdb")}
    assert run("sync", env=clean).exit_code == EXIT_OK

    def days(path: str) -> int:
        with open_read_only(Path(path)) as conn:
            return int(conn.execute("SELECT count(*) FROM zoom.daily_usage").fetchall()[0][0])

    assert days(env["ZOOM_ETL_WAREHOUSE"]) == days(clean["ZOOM_ETL_WAREHOUSE"]) > 30


def test_missing_credentials_exit_2_without_touching_the_warehouse(run: Run, tmp_path: Path) -> None:
    result = run("sync", env={"ZOOM_ETL_WAREHOUSE": str(tmp_path / "w.duckdb")})
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.count("\n") == 1 and "ZOOM_ACCOUNT_ID" in result.stderr
    assert orjson.loads(result.stdout)["status"] == "config_error"  # cron's record of the run
    assert not (tmp_path / "w.duckdb").exists()


def test_second_writer_exits_75_at_once(simulator: RunningSimulator, sim_env: Env, run: Run) -> None:
    env = sim_env(simulator)
    with Warehouse.open(Path(env["ZOOM_ETL_WAREHOUSE"])):
        result = run("sync", env=env)
    assert result.exit_code == EXIT_LOCKED
    assert "in use by another zoom-etl process" in result.output


def test_a_warehouse_of_a_newer_release_exits_2_and_is_not_written(
    simulator: RunningSimulator, sim_env: Env, run: Run
) -> None:
    env = sim_env(simulator)
    path = Path(env["ZOOM_ETL_WAREHOUSE"])
    with duckdb.connect(str(path)) as conn:  # as a future release might leave it
        conn.execute("CREATE SCHEMA _etl")
        conn.execute("CREATE TABLE _etl.meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
        conn.execute("INSERT INTO _etl.meta VALUES ('schema_version', '999')")
    result = run("sync", env=env)
    assert result.exit_code == EXIT_USAGE, result.output
    assert "schema version 999, written by a newer zoom-etl" in result.output
    assert "Traceback" not in result.output and result.stderr.count("\n") == 1
    with duckdb.connect(str(path), read_only=True) as conn:
        assert (
            conn.execute(
                "SELECT schema_name FROM duckdb_schemas() WHERE schema_name IN ('zoom', 'raw')"
            ).fetchall()
            == []
        )


def test_a_world_readable_config_with_the_secret_is_warned_about_once(
    simulator: RunningSimulator, sim_env: Env, run: Run, tmp_path: Path
) -> None:
    env = sim_env(simulator)
    secret = env.pop("ZOOM_CLIENT_SECRET")
    config = tmp_path / "zoom-etl.toml"
    config.write_text(
        f'[[accounts]]\naccount_id = "{env["ZOOM_ACCOUNT_ID"]}"\nclient_id = "{env["ZOOM_CLIENT_ID"]}"\n'
        f'client_secret = "{secret}"\n'
    )
    config.chmod(0o644)
    synced = run("sync", "--config", str(config), env=env)
    assert synced.exit_code == EXIT_OK, synced.output
    warnings = [line for line in synced.stderr.splitlines() if "chmod 600" in line]
    assert warnings == [
        f"warning: config file {config} holds a client_secret and every user of this machine can read it:"
        f" chmod 600 {config} (or set ZOOM_CLIENT_SECRET in the environment instead)"
    ]
    assert secret not in synced.output
    config.chmod(0o600)
    assert "chmod" not in run("sync", "--config", str(config), env=env).stderr


def test_streams_lists_sources_in_order(run: Run) -> None:
    result = run("streams", "--json")
    assert result.exit_code == EXIT_OK
    rows = {r["stream"]: r for r in orjson.loads(result.stdout)}
    assert set(rows) == {s.name for s in STREAMS}
    assert rows["users"]["sources"][0].startswith("graphql:")
    assert any(
        "/report/meetings/{meetingId}/participants" in s for s in rows["meeting_participants"]["sources"]
    )


def test_rebuild_recreates_the_synced_tables(simulator: RunningSimulator, sim_env: Env, run: Run) -> None:
    env = sim_env(simulator)
    assert run("sync", env=env).exit_code == EXIT_OK
    path = Path(env["ZOOM_ETL_WAREHOUSE"])

    def rows() -> dict[str, set[tuple[object, ...]]]:
        with open_read_only(path) as conn:
            return {
                t: set(conn.execute(f"SELECT * FROM zoom.{t}").fetchall())
                for t in ("meeting_participants", "users_history", "recording_files")
            }

    before = rows()
    rebuilt = run("rebuild", env=env)
    assert rebuilt.exit_code == EXIT_OK, rebuilt.output
    assert "meeting_participants" in rebuilt.stdout
    assert rows() == before


def test_demo_runs_end_to_end_on_the_tiny_profile(run: Run, tmp_path: Path) -> None:
    warehouse = tmp_path / "demo.duckdb"
    result = run("demo", "--profile", "tiny", "--warehouse", str(warehouse), "--latency-ms", "0")
    assert result.exit_code == EXIT_OK, result.output
    assert "full sync" in result.stdout and "incremental sync" in result.stdout
    assert "report daily_meetings" in result.stdout
    with open_read_only(warehouse) as conn:
        runs = conn.execute("SELECT status FROM _etl.runs ORDER BY started_at").fetchall()
    assert [r[0] for r in runs] == ["ok", "ok"]


def test_refused_credentials_fail_the_run_with_exit_1_and_no_secret(
    simulator: RunningSimulator, sim_env: Env, run: Run
) -> None:
    env = {**sim_env(simulator), "ZOOM_CLIENT_SECRET": "not-the-secret-4711"}
    result = run("sync", env=env)
    assert result.exit_code == EXIT_FAILED, result.output
    summary = orjson.loads(result.stdout)
    assert summary["status"] == "failed" and "refused" in summary["error"]
    assert "not-the-secret-4711" not in result.output
    with open_read_only(Path(env["ZOOM_ETL_WAREHOUSE"])) as conn:
        assert conn.execute("SELECT status, exit_code FROM _etl.runs").fetchall() == [("failed", EXIT_FAILED)]


def test_simulator_serve_answers_on_loopback_until_stopped(tmp_path: Path) -> None:
    """The standalone server as a user starts it: prints its URL and credentials, serves, stops on SIGTERM."""
    command = [sys.executable, "-m", "etl", "simulator", "serve", "--profile", "tiny", "--port", "0"]
    before = default_epoch()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            url = first.split(" at ", 1)[1].strip()
            assert url.startswith("http://127.0.0.1:")
            with urllib.request.urlopen(f"{url}/_sim/clock", timeout=10) as response:
                now = datetime.fromisoformat(orjson.loads(response.read())["now"])
            assert now in (before, default_epoch())  # 15:00 UTC of the current UTC day: recent on any date
        finally:
            process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


CREDS = {"ZOOM_ACCOUNT_ID": "a", "ZOOM_CLIENT_ID": "c", "ZOOM_CLIENT_SECRET": "s"}
TRACEBACKS_BEFORE = {  # before issue 15: a raw traceback (exit 1), or a failure only once the sync ran
    "non-UTF-8 config": (("sync", "--config", "bad.toml"), {}, "bad.toml: not UTF-8 text (byte 13"),
    "IPv6 URL unclosed": (("sync", "--dry-run"), {"ZOOM_API_URL": "https://[::1"}, "is not a valid URL"),
    "port out of range": (("sync", "--dry-run"), {"ZOOM_API_URL": "https://a:99999"}, "Port out of range"),
    "status --runs -5": (("status", "--runs", "-5"), {}, "'--runs': -5 is not in the range x>=1"),
    "simulator port": (("simulator", "serve", "--port", "99999"), {}, "'--port': 99999 is not in the range"),
    "simulator clock": (
        ("simulator", "serve", "--clock-start", "9999-12-31"),
        {},
        "outside the years 1980..9000",
    ),
    "simulator advance": (("simulator", "serve", "--advance-days", "-1e9"), {}, "'--advance-days'"),
    "demo profile": (("demo", "--profile", "nosuch"), {}, "unknown simulator profile 'nosuch'"),
}


@pytest.mark.parametrize(("args", "env", "needle"), TRACEBACKS_BEFORE.values(), ids=TRACEBACKS_BEFORE.keys())
def test_bad_input_exits_2_with_one_line_not_a_traceback(
    run: Run, tmp_path: Path, args: tuple[str, ...], env: dict[str, str], needle: str
) -> None:
    (tmp_path / "bad.toml").write_bytes(b'warehouse = "\xff\xfe"\n')
    result = run(*args, env={**CREDS, "ZOOM_ETL_WAREHOUSE": str(tmp_path / "w.duckdb"), **env})
    assert isinstance(result.exception, SystemExit), result.exception  # not an uncaught error
    assert result.exit_code == EXIT_USAGE, result.output
    assert needle in result.output, result.output
    assert "Traceback" not in result.output
