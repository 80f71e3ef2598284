"""A hostile Zoom: a small threaded HTTP server on loopback that answers OAuth like Zoom and ``GET
/v2/users`` with one chosen misbehaviour (``Hostile.mode``), and a CLI runner that measures the child's
peak memory.

Modes (``MODES``): ``too_large`` (a 2 GB Content-Length, streamed), ``endless`` (a chunked body that
never ends), ``trickle`` (one byte every ``trickle_interval`` seconds, forever), ``invalid_utf8`` and
``lone_surrogate`` (in one user's name), ``deep`` (one user with a field nested ``DEEP`` levels),
``huge_string`` (one user's name of ``HUGE`` characters), ``empty_pages`` (a new page token with every
empty page, forever), ``repeated_token`` (page 2 hands out page 1's token again), ``beyond_total`` (a new
user and token on every page, forever, while ``total_records`` says 4), ``foreign_api_url`` (a
normal listing, with a token response whose ``api_url`` is this server). ``clean`` serves the listing.

Only users of ``status=active`` (or no status) are served; the other status listings are empty. Every
request the server saw is kept in ``requests`` (method, path, whether it carried a bearer token).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

ACCOUNT_ID, CLIENT_ID, CLIENT_SECRET = "hostile-acct", "hostile-client", "hostile-secret-Zq8"
DEEP = 900
HUGE = 16 * 1024 * 1024
MODES = (
    "clean",
    "too_large",
    "endless",
    "trickle",
    "invalid_utf8",
    "lone_surrogate",
    "deep",
    "huge_string",
    "empty_pages",
    "repeated_token",
    "beyond_total",
    "foreign_api_url",
)
ROOT = Path(__file__).resolve().parents[2]
BAD_USER = "u-bad"  # the one user a record-level mode spoils


def user(index: int) -> dict[str, Any]:
    return {
        "id": f"u-{index}",
        "email": f"user{index}@example.com",
        "first_name": f"First{index}",
        "last_name": f"Last{index}",
        "type": 1,
        "status": "active",
        "created_at": "2026-01-02T03:04:05Z",
    }


USERS = [user(i) for i in range(1, 5)]


def _users_body(mode: str) -> bytes:
    """The listing of active users, one of them spoiled as ``mode`` says (a placeholder name patched in
    as bytes, so the body can hold what no JSON encoder would write)."""
    bad = {**user(0), "id": BAD_USER, "first_name": "@@NAME@@"}
    if mode == "deep":
        bad["custom_attributes"] = "@@DEEP@@"
    body = orjson.dumps({"page_size": 300, "total_records": 5, "next_page_token": "", "users": [*USERS, bad]})
    name = {
        "invalid_utf8": b"Ren\xe9 \xff\xfe",
        "lone_surrogate": b"Bad \\ud800 name",
        "huge_string": b"x" * HUGE,
    }.get(mode, b"Plain")
    deep = b"[" + b'{"x": ' * DEEP + b'"bottom"' + b"}" * DEEP + b"]"  # no encoder writes this deep
    return body.replace(b"@@NAME@@", name).replace(b'"@@DEEP@@"', deep)


class Hostile(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "clean"
        self.trickle_interval = 0.5
        self.requests: list[tuple[str, str, bool]] = []
        self.lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def api_requests(self) -> list[tuple[str, str, bool]]:
        with self.lock:
            return [r for r in self.requests if r[1].startswith("/v2/")]


class _Handler(BaseHTTPRequestHandler):
    server: Hostile
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        with self.server.lock:
            self.server.requests.append(("POST", parts.path, False))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if parts.path != "/oauth/token":
            self._send(404, b'{"code": 404, "message": "not found"}')
            return
        body = {
            "access_token": "hostile-token-" + "k" * 40,
            "token_type": "bearer",
            "expires_in": 3600,
            "scope": "user:read:admin",
            "api_url": self.server.base_url
            if self.server.mode == "foreign_api_url"
            else "https://api.zoom.us",
        }
        self._send(200, orjson.dumps(body))

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        bearer = (self.headers.get("Authorization") or "").startswith("Bearer ")
        with self.server.lock:
            self.server.requests.append(("GET", parts.path, bearer))
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path != "/v2/users":
            self._send(404, b'{"code": 1001, "message": "User does not exist."}')
            return
        if query.get("status", "active") != "active":
            self._send(200, b'{"page_size": 300, "total_records": 0, "next_page_token": "", "users": []}')
            return
        mode = self.server.mode
        try:
            if mode == "too_large":
                self._stream(content_length=2 * 1024**3)
            elif mode == "endless":
                self._stream(content_length=None)
            elif mode == "trickle":
                self._trickle()
            elif mode == "empty_pages":
                page = int(query.get("next_page_token", "t0")[1:]) + 1
                body = {"page_size": 300, "total_records": 0, "next_page_token": f"t{page}", "users": []}
                self._send(200, orjson.dumps(body))
            elif mode == "beyond_total":  # one new user per page, forever, while saying there are 4
                page = int(query.get("next_page_token", "t0")[1:])
                users = [{**user(100 + page), "id": f"u-p{page:03d}"}]
                body = {"page_size": 1, "total_records": 4, "next_page_token": f"t{page + 1}", "users": users}
                self._send(200, orjson.dumps(body))
            elif mode == "repeated_token":
                body = {"page_size": 1, "total_records": 4, "next_page_token": "again", "users": USERS[:1]}
                self._send(200, orjson.dumps(body))
            else:
                self._send(200, _users_body(mode))
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: that is the point

    def _stream(self, content_length: int | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if content_length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(content_length))
        self.end_headers()
        chunk = b'{"users": [' + b'{"id": "u", "first_name": "' + b"a" * (1 << 20)
        filler = b"a" * (1 << 20)
        sent = 0
        while content_length is None or sent < content_length:
            data = chunk if sent == 0 else filler
            if content_length is None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            else:
                data = data[: content_length - sent]
                self.wfile.write(data)
            sent += len(data)

    def _trickle(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(10**6))
        self.end_headers()
        self.wfile.write(b'{"users": [')
        self.wfile.flush()
        while True:
            time.sleep(self.server.trickle_interval)
            self.wfile.write(b" ")
            self.wfile.flush()


def start() -> Hostile:
    server = Hostile()
    threading.Thread(target=server.serve_forever, name="hostile", daemon=True).start()
    return server


def hostile_env(server: Hostile, warehouse: Path, *, api_url: bool = True, **extra: str) -> dict[str, str]:
    """A clean child environment: this server's credentials and URLs (the API base left at its default
    when ``api_url`` is False), no proxy, nothing of the developer's ``ZOOM_*``."""
    skip = ("ZOOM", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    env.update(
        {
            "ZOOM_ACCOUNT_ID": ACCOUNT_ID,
            "ZOOM_CLIENT_ID": CLIENT_ID,
            "ZOOM_CLIENT_SECRET": CLIENT_SECRET,
            "ZOOM_OAUTH_URL": f"{server.base_url}/oauth/token",
            "ZOOM_ETL_WAREHOUSE": str(warehouse),
            "ZOOM_ETL_LOG_FORMAT": "text",
            "ZOOM_ETL_RETRY_ATTEMPTS": "2",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": str(ROOT),  # this checkout's etl, whatever the venv has installed
            "NO_PROXY": "*",
        }
    )
    if api_url:
        env["ZOOM_API_URL"] = server.base_url
    env.update(extra)
    return env


# Runs the command in argv[1:] and then prints, as the last line of stderr, the peak RSS (KiB) of its
# children: a fresh process, so no earlier child of the test process counts.
_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "sys.stderr.write(f'\\npeak-rss-kib {peak}\\n')\n"
    "sys.exit(code)\n"
)


def run_measured(
    args: Sequence[str], env: Mapping[str, str], cwd: Path, *, timeout: float
) -> tuple[subprocess.CompletedProcess[str], int, float]:
    """``python -m etl ARGS`` in a child: (the finished process, its peak RSS in MiB, seconds taken).
    The ``peak-rss-kib`` line is taken out of its stderr."""
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-c", _MEASURE, sys.executable, "-m", "etl", *args],
        env=dict(env),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: a timeout ends the sync too, not only the wrapper
    )
    try:
        stdout, stderr = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        raise
    done = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    seconds = time.monotonic() - started
    lines = done.stderr.rstrip().splitlines()
    peak = int(lines[-1].split()[-1]) // 1024 if lines and lines[-1].startswith("peak-rss-kib") else -1
    done.stderr = "\n".join(line for line in lines[:-1] if line.strip()) + "\n"
    return done, peak, seconds
