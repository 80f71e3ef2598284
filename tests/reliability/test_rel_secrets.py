"""Secrets: a sync with a known client secret, its logs at debug level in JSON, a failing run, and an
export, then a scan of stdout, stderr, the warehouse file's bytes, every table of every schema (``zoom``,
``_etl``, ``raw``), every export file and every file the runs created (``HOME`` points into the test's
directory, so a token cache anywhere under it would be found): the client secret, its Basic-auth
form and every access token the simulator issued must appear nowhere.
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from reliability_kit import child_env, open_read_only, run_cli

from etl.simulator.server import RunningSimulator

SECRET = "Kn0wn-Cl1ent-S3cret-for-the-leak-scan"
WRONG = "Wr0ng-S3cret-that-must-not-leak-either"


def _capture_tokens(sim: RunningSimulator) -> list[str]:
    """Every access token the simulator hands out (test-side wrapper of its OAuth endpoint)."""
    issued: list[str] = []
    original = sim.app.tokens.token_request

    def capture(*args: Any) -> tuple[int, dict]:
        status, body = original(*args)
        if status == 200:
            issued.append(str(body["access_token"]))
        return status, body

    sim.app.tokens.token_request = capture  # type: ignore[method-assign]
    return issued


def _table_text(warehouse: Path) -> str:
    with open_read_only(warehouse) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        assert {s for s, _ in tables} >= {"zoom", "_etl", "raw"}
        return "\n".join(str(conn.execute(f'SELECT * FROM "{s}"."{t}"').fetchall()) for s, t in tables)


@pytest.mark.slow
def test_no_secret_or_token_anywhere(fresh_sim: Callable[..., RunningSimulator], tmp_path: Path) -> None:
    # Tokens expire mid-run, so several are issued and used; GraphQL and REST both run.
    sim = fresh_sim(client_secret=SECRET, faults={"token_expiry_every": 90})
    tokens = _capture_tokens(sim)
    home = tmp_path / "home"
    home.mkdir()
    warehouse = tmp_path / "zoom.duckdb"
    out = tmp_path / "export"
    env = {**child_env(sim, warehouse), "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    texts: list[str] = []
    sync = run_cli(["sync", "--log-format", "json", "-v"], env, tmp_path)
    assert sync.returncode == 0, sync.stderr[-2000:]
    failed = run_cli(["sync", "--log-format", "json", "-v"], {**env, "ZOOM_CLIENT_SECRET": WRONG}, tmp_path)
    assert failed.returncode == 1
    status = run_cli(["status", "--json"], env, tmp_path)
    export = run_cli(["export", "parquet", "--out", str(out)], env, tmp_path)
    assert export.returncode == 0, export.stderr[-2000:]
    for done in (sync, failed, status, export):
        texts += [done.stdout, done.stderr]
    assert '"level":"debug"' in sync.stderr.replace(" ", "")  # debug logs were on, and scanned
    assert len(tokens) >= 2, "the scan needs tokens to look for"

    needles = {
        "client secret": SECRET,
        "wrong secret": WRONG,
        "basic auth": base64.b64encode(f"{sim.config.client_id}:{SECRET}".encode()).decode(),
        **{f"token {i}": token for i, token in enumerate(tokens)},
    }
    texts.append(_table_text(warehouse))
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files) and warehouse in files
    blobs = {str(p): p.read_bytes() for p in files}
    for name, needle in needles.items():
        for i, text in enumerate(texts):
            assert needle not in text, f"{name} found in output #{i}"
        for path, blob in blobs.items():
            assert needle.encode() not in blob, f"{name} found in {path}"

    # Nothing under HOME (no token cache); any file that looks like a cache is private to its owner.
    assert not [p for p in home.rglob("*") if p.is_file()]
    for path in files:
        if any(word in path.name.lower() for word in ("token", "cache", "credential")):
            assert stat.S_IMODE(os.stat(path).st_mode) & 0o077 == 0, path
