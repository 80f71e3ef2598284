"""``zoom-etl webhooks serve`` as a process: binds where told, spools a signed event, stops on SIGTERM;
refuses to start without a secret token (exit 2, one line, no secret)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

from etl.webhooks.signature import sign

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_receives_into_the_spool_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "ZOOM_WEBHOOK_SECRET_TOKEN": "cli-secret-value", "ZOOM_ETL_LOG_FORMAT": "json"}
    warehouse = tmp_path / "w.duckdb"
    args = ["webhooks", "serve", "--port", str(port), "--path", "/zoom", "--warehouse", str(warehouse)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "etl", *args], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        body = orjson.dumps({"event": "user.updated", "event_ts": 1, "payload": {"object": {"id": "u1"}}})
        deadline = time.monotonic() + 20
        while True:
            ts = str(int(time.time()))
            headers = {"x-zm-request-timestamp": ts, "x-zm-signature": sign("cli-secret-value", ts, body)}
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/zoom", content=body, headers=headers)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the receiver did not start"
                time.sleep(0.1)
        assert response.status_code == 200, response.text
        assert len(list((tmp_path / "w.events").glob("*.json"))) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    assert "cli-secret-value" not in stderr


def test_serve_without_a_secret_token_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ZOOM_WEBHOOK_SECRET_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "etl", "webhooks", "serve", "--warehouse", str(tmp_path / "w.duckdb")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("zoom-etl: error: webhooks: no secret token: set ZOOM_WEBHOOK_SECRET_TOKEN")


def test_every_acknowledged_event_survives_a_kill(tmp_path: Path) -> None:
    """SIGKILL right after the last 200: every event acknowledged is in the spool, whole."""
    port = free_port()
    env = {**os.environ, "ZOOM_WEBHOOK_SECRET_TOKEN": "kill-secret"}
    args = ["webhooks", "serve", "--port", str(port), "--warehouse", str(tmp_path / "w.duckdb")]
    proc = subprocess.Popen(
        [sys.executable, "-m", "etl", *args], cwd=ROOT, env=env, stderr=subprocess.DEVNULL
    )
    acknowledged = 0
    try:
        deadline = time.monotonic() + 20
        with httpx.Client() as client:
            for n in range(20):
                body = orjson.dumps(
                    {"event": "meeting.ended", "event_ts": n, "payload": {"object": {"uuid": str(n)}}}
                )
                ts = str(int(time.time()))
                headers = {"x-zm-request-timestamp": ts, "x-zm-signature": sign("kill-secret", ts, body)}
                while True:
                    try:
                        response = client.post(
                            f"http://127.0.0.1:{port}/webhooks/zoom", content=body, headers=headers
                        )
                        break
                    except httpx.ConnectError:
                        assert time.monotonic() < deadline, "the receiver did not start"
                        time.sleep(0.1)
                acknowledged += response.status_code == 200
    finally:
        proc.kill()
        proc.wait(10)
    from etl.webhooks.spool import Spool

    entries = Spool(tmp_path / "w.events").entries()
    assert acknowledged == 20
    assert sorted(e.event_ts for e in entries) == list(range(20))
    assert not (tmp_path / "w.events" / "bad").exists()
