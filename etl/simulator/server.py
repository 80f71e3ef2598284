"""The simulator's HTTP server: stdlib ``ThreadingHTTPServer`` on loopback, HTTP/1.1 keep-alive, orjson.

Why the standard library: faults must be real at the socket level (resets, truncated bodies, held requests),
which a framework would smooth over, and the raw request path must reach the router undecoded (Zoom's
double-encoded uuids). What to answer is decided by ``App.handle`` (``etl.simulator.app``); this module only
reads requests and carries out its ``Outcome``, misbehaving on purpose when the outcome says so.
``start(config)`` runs it in a background thread and returns a ``RunningSimulator``; ``serve(config)`` blocks
(the CLI).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import struct
import sys
import threading
import traceback
from dataclasses import replace
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from etl.simulator.app import App, SimulatorConfig, json_outcome
from etl.simulator.clock import SimClock
from etl.simulator.faults import ERROR_BODIES, FaultSettings
from etl.simulator.model import Account
from etl.simulator.webhooks import WebhookConfig, WebhookSender

MALFORMED_TAIL = b"\n<html><body>upstream says hello</body></html>"


# ---- sockets -------------------------------------------------------------------------------------

_REASONS = {
    200: "OK",
    206: "Partial Content",
    302: "Found",
    416: "Range Not Satisfiable",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, asks ``App.handle``, answers in one ``sendall`` (or misbehaves on purpose)."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: no access log, so no tokens in logs
        return

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        app = self.server.app
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if not self.path.startswith("/_sim/"):
            while not app.running.wait(0.05) and not app.stopping.is_set():
                pass
        try:
            outcome = app.handle(method, self.path, self.headers, body)
        except Exception:  # a simulator bug: answer 500 and show the traceback on stderr
            traceback.print_exc(file=sys.stderr)
            outcome = json_outcome(500, ERROR_BODIES[500])
        if outcome.hold > 0 and app.stopping.wait(outcome.hold):
            outcome.fault = "reset"
        app.served()
        if outcome.fault == "malformed" and outcome.status == 200:
            app.faults.applied("malformed")
            outcome.body += MALFORMED_TAIL  # complete, but not JSON: what a misbehaving proxy sends
        if outcome.fault == "truncate":
            app.faults.applied("truncate")
        if outcome.fault == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if outcome.chunks is not None:
            self._stream(outcome)
            return
        lines = [
            f"HTTP/1.1 {outcome.status} {_REASONS.get(outcome.status, 'Error')}",
            f"Content-Type: {outcome.content_type}",
            f"Content-Length: {len(outcome.body)}",
            # The simulated clock's now: a client that dates its windows by Zoom's clock sees simulated time.
            f"Date: {format_datetime(app.clock.now(), usegmt=True)}",
        ]
        lines += [f"{name}: {value}" for name, value in outcome.headers.items()]
        if self.close_connection:
            lines.append("Connection: close")
        payload = outcome.body
        if outcome.fault == "truncate":
            payload = payload[: len(payload) // 2]
            self.close_connection = True
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)

    def _stream(self, outcome: Any) -> None:
        """A recording file: headers, then the chunks; the connection closed after ``cut_after`` bytes."""
        lines = [
            f"HTTP/1.1 {outcome.status} {_REASONS.get(outcome.status, 'Error')}",
            f"Content-Type: {outcome.content_type}",
            f"Content-Length: {outcome.length}",
            f"Date: {format_datetime(self.server.app.clock.now(), usegmt=True)}",
        ]
        lines += [f"{name}: {value}" for name, value in outcome.headers.items()]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        sent = 0
        for chunk in outcome.chunks:
            if 0 <= outcome.cut_after < sent + len(chunk):
                # What arrived stays readable (a FIN, not a reset, which would discard the client's
                # unread bytes): the client sees the body end short of its Content-Length.
                self.wfile.write(chunk[: outcome.cut_after - sent])
                self.wfile.flush()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_WR)
                return
            self.wfile.write(chunk)
            sent += len(chunk)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-request (killed, timed out, reset) is normal traffic for a test bed
        that kills clients on purpose: no traceback. Anything else is a simulator bug and is shown."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)

    def close_open_connections(self) -> None:
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class RunningSimulator:
    """A simulator serving in a background thread. Use as a context manager or call ``stop()``."""

    def __init__(self, config: SimulatorConfig, app: App, server: _Server, thread: threading.Thread) -> None:
        self.config = config
        self.app = app
        self._server = server
        self._thread = thread
        self.port: int = int(server.server_address[1])
        self.base_url = f"http://{config.host}:{self.port}"
        self.oauth_url = self.base_url + "/oauth/token"
        app.base_url = self.base_url
        self._senders: list[WebhookSender] = []

    @property
    def account(self) -> Account:
        return self.app.raw_account

    @property
    def clock(self) -> SimClock:
        return self.app.clock

    @property
    def credentials(self) -> dict[str, str]:
        """account_id, client_id, client_secret: what a client needs (never print the secret)."""
        cfg = self.config
        return {
            "account_id": cfg.account_id or "",
            "client_id": cfg.client_id,
            "client_secret": cfg.client_secret,
        }

    def environ(self, warehouse: Path, **extra: str) -> dict[str, str]:
        """The ``ZOOM_*`` settings of a sync pointed at this simulator into ``warehouse``, plus ``extra``.
        The client is scaled like the simulator, as a real client is to Zoom: paced to the server's limits,
        not into 429s and waits."""
        creds = self.credentials
        return {
            "ZOOM_ACCOUNT_ID": creds["account_id"],
            "ZOOM_CLIENT_ID": creds["client_id"],
            "ZOOM_CLIENT_SECRET": creds["client_secret"],
            "ZOOM_API_URL": self.base_url,
            "ZOOM_OAUTH_URL": self.oauth_url,
            "ZOOM_PLAN": self.config.plan,
            "ZOOM_ETL_WAREHOUSE": str(warehouse),
            "ZOOM_ETL_RATE_SCALE": str(self.config.rate_scale),
            **extra,
        }

    def stats(self) -> dict[str, Any]:
        return self.app.control.snapshot()

    def reset_stats(self) -> None:
        self.app.stats.reset()

    def set_faults(self, **knobs: object) -> FaultSettings:
        return self.app.faults.update(**knobs)

    def advance(self, *, days: float = 0, seconds: float = 0) -> datetime:
        return self.app.control.advance(days=days, seconds=seconds)

    def send_webhooks(self, url: str, secret: str, **knobs: Any) -> WebhookSender:
        """From now on, every clock advance POSTs what happened to ``url``, signed with ``secret``
        (``knobs``: ``WebhookConfig`` fields: retry_scale, duplicates, bad_signatures, out_of_order)."""
        sender = WebhookSender(self.app.raw_account, WebhookConfig(url, secret, **knobs))
        self.app.control.on_advance.append(sender.advanced)
        self._senders.append(sender)
        return sender

    def expire_tokens(self) -> int:
        return self.app.tokens.expire_all()

    def expire_page_tokens(self) -> int:
        return self.app.pages.expire_all()

    def pause(self) -> None:
        """Hold every API and OAuth request (control endpoints still answer) until ``resume()``: a client
        stays mid-run, its warehouse open, for as long as a test needs."""
        self.app.running.clear()

    def resume(self) -> None:
        self.app.running.set()

    @property
    def served(self) -> int:
        """Requests handled since the server started (any path): what ``wait_for_requests`` counts."""
        return self.app.served_count

    def wait_for_requests(self, count: int, timeout: float = 60.0) -> bool:
        """Block until the server has handled ``count`` requests since it started (a condition, not a
        poll): how a test kills a client at a moment chosen by progress rather than by a timer."""
        return self.app.wait_for_requests(count, timeout)

    def stop(self) -> None:
        if self.app.stopping.is_set():
            return
        self.app.stopping.set()
        for sender in self._senders:
            sender.close()
        self._server.shutdown()
        self._server.close_open_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"RunningSimulator({self.base_url}, profile={self.config.profile!r}, plan={self.config.plan!r})"
        )


def build_account(config: SimulatorConfig) -> Account:
    """The generated account for ``config.profile`` and ``config.seed``, starting at ``config.epoch``."""
    from etl.simulator.generate import generate

    return generate(config.profile, config.seed, epoch=config.epoch)


def start(
    config: SimulatorConfig, *, account: Account | None = None, clock: SimClock | None = None
) -> RunningSimulator:
    """Bind (port 0 picks a free port), serve in a daemon thread, return at once."""
    account = account if account is not None else build_account(config)
    if config.account_id is None:
        config = replace(config, account_id=account.account_id)
    clock = clock if clock is not None else SimClock(account.epoch)
    app = App(config, account, clock)
    server = _Server((config.host, config.port), app)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name=f"zoom-sim:{server.server_address[1]}", daemon=True
    )
    thread.start()
    return RunningSimulator(config, app, server, thread)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def serve(
    config: SimulatorConfig,
    *,
    account: Account | None = None,
    clock: SimClock | None = None,
    ready: Any = None,
) -> None:
    """Serve in the foreground until interrupted; ``ready(running)`` is called once the port is bound."""
    running = start(config, account=account, clock=clock)
    if threading.current_thread() is threading.main_thread():  # SIGTERM stops cleanly, like Ctrl-C
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        if ready is not None:
            ready(running)
        running._thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
