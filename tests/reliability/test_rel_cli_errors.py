"""Bad configuration and usage: one clear line on stderr, a documented exit code (``etl.errors``: 1
failed, 2 usage/config), no traceback unless ``--debug``, and never the secret.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from reliability_kit import child_env, run_cli

from etl.simulator.server import RunningSimulator


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _assert_one_clear_error(stderr: str, secret: str) -> str:
    assert "Traceback" not in stderr, stderr
    assert secret not in stderr
    errors = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert errors, stderr
    return errors[-1]


@pytest.fixture
def sim_env(
    fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> tuple[RunningSimulator, dict[str, str]]:
    sim = fresh_sim()
    return sim, child_env(sim, tmp_path / "zoom.duckdb", ZOOM_ETL_RETRY_ATTEMPTS="2")


CASES = {
    "invalid --since": (["sync", "--since", "2026-13-45"], {}, 2, "--since"),
    "unknown stream": (["sync", "--streams", "users,zoomies"], {}, 2, "zoomies"),
    "invalid plan": (["sync"], {"ZOOM_PLAN": "platinum"}, 2, "ZOOM_PLAN"),
    "secret as a flag": (["sync", "--client-secret", "x"], {}, 2, "client-secret"),
    "warehouse under a file": (["sync", "--warehouse", "{tmp}/a-file/zoom.duckdb"], {}, 1, "a-file"),
    "wrong client secret": (["sync"], {"ZOOM_CLIENT_SECRET": "not-the-secret"}, 1, "token"),
    "wrong account id": (["sync"], {"ZOOM_ACCOUNT_ID": "nobody"}, 1, "token"),
    "unreachable API": (
        ["sync"],
        {"ZOOM_API_URL": "http://127.0.0.1:{port}", "ZOOM_OAUTH_URL": "http://127.0.0.1:{port}/oauth/token"},
        1,
        "ConnectError",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_configuration_gives_one_line_and_a_documented_exit_code(
    case: tuple[list[str], dict[str, str], int, str],
    sim_env: tuple[RunningSimulator, dict[str, str]],
    tmp_path: Path,
) -> None:
    args, overrides, code, mentioned = case
    sim, env = sim_env
    (tmp_path / "a-file").write_text("not a directory")
    port = str(_closed_port())
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    env = {**env, **{k: v.replace("{port}", port) for k, v in overrides.items()}}
    done = run_cli(args, env, tmp_path)
    assert done.returncode == code, (done.returncode, done.stderr[-2000:])
    line = _assert_one_clear_error(done.stderr, sim.credentials["client_secret"])
    assert mentioned in line, line
    if code == 1 and args == ["sync"]:  # the run itself failed: recorded, summarized on stdout
        summary = orjson.loads(done.stdout)
        assert summary["status"] == "failed" and mentioned in summary["error"]


def test_missing_credentials_name_what_to_set(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM")}
    done = run_cli(["sync", "--warehouse", str(tmp_path / "z.duckdb")], env, tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith("zoom-etl: error:") and "ZOOM_CLIENT_SECRET" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM")}
    done = run_cli(["--debug", "sync", "--since", "yesterday"], env, tmp_path)
    assert done.returncode != 0
    assert "Traceback" in done.stderr
