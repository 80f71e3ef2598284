"""The simulator's HTTP server: stdlib ``ThreadingHTTPServer`` on loopback, HTTP/1.1 keep-alive, orjson.

Why the standard library: faults must be real at the socket level (resets, truncated bodies, held requests),
which a framework would smooth over, and the raw request path must reach the router undecoded (Zoom's
double-encoded uuids). ``start(config)`` runs it in a background thread and returns a ``RunningSimulator``;
``serve(config)`` blocks (the CLI). ``App.handle`` is the whole request pipeline, in order:

    route → latency → fault draw (token expiry) → auth (124) → 429 storm → scope (4700)
          → rate limit (429) → reset / timeout / 5xx / truncate → handler (+ drift)

Choices where Zoom's behaviour is not documented (each Zoom-shaped, each tested):
- ``me`` as userId: HTTP 400, code 200, "No permission. "me" is not supported for Server-to-Server OAuth
  tokens..."; missing scope: HTTP 400, code 4700; unknown path: HTTP 404, code 404.
- GraphQL on the Free plan: HTTP 403, code 200 "No permission ... only available for paid account";
  ``graphql=False``: ``/v3/graphql`` is an unknown path (404).
- Success headers: ``X-RateLimit-Category/Limit/Remaining``, where Limit/Remaining are the daily cap and
  what is left of it when the category has one on the plan, else the per-second limit and tokens left.
"""

from __future__ import annotations

import contextlib
import random
import signal
import socket
import struct
import sys
import threading
import traceback
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson

from etl.simulator.clock import SimClock
from etl.simulator.control import Control, Stats
from etl.simulator.faults import ERROR_BODIES, FaultInjector, FaultSettings
from etl.simulator.memo import MemoAccount
from etl.simulator.model import Account
from etl.simulator.oauth import ALL_SCOPES, INVALID_TOKEN, TokenStore
from etl.simulator.ratelimit import QPS_MESSAGE, RateLimiter
from etl.simulator.rest import dispatch, mangle, match
from etl.simulator.rest.common import Request
from etl.simulator.rest.paging import PageTokens

SDL_PATH = Path(__file__).resolve().parents[2] / "schemas" / "zoom.graphql"
LOOPBACK = ("127.0.0.1", "localhost", "::1")
NOT_FOUND = {"code": 404, "message": "No API found for this path."}
MALFORMED_TAIL = b"\n<html><body>upstream says hello</body></html>"


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything that shapes one simulator run. Same config, seed and clock moves → same response bytes."""

    profile: str = "demo"
    seed: int = 0
    plan: str = "pro"  # free | pro | business | enterprise
    rate_scale: float = 1.0  # multiplies every rate limit and daily cap
    rate_limits: bool = True
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    faults: FaultSettings = field(default_factory=FaultSettings)
    token_ttl_s: float = 3600.0  # wall clock
    invalidate_previous_tokens: bool = False
    page_token_ttl_s: float = 900.0  # wall clock; Zoom: 15 minutes
    page_size_cap: int = 0  # REST page sizes capped below Zoom's own caps (0: Zoom's), to page tiny accounts
    account_id: str | None = None  # None: the generated account's own id (what Zoom's admin page shows)
    client_id: str = "sim-client"
    client_secret: str = field(default="sim-secret", repr=False)
    scopes: tuple[str, ...] = ALL_SCOPES
    graphql: bool = True
    host: str = "127.0.0.1"
    port: int = 0


@dataclass(slots=True)
class Outcome:
    """What the socket layer must do: send ``body`` (maybe cut short), or reset, maybe after ``hold``."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None  # reset | truncate | malformed
    hold: float = 0.0


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> Outcome:
    return Outcome(status, orjson.dumps(body), headers or {})


class App:
    """The request pipeline, independent of sockets."""

    def __init__(self, config: SimulatorConfig, account: Account, clock: SimClock) -> None:
        if config.host not in LOOPBACK and not config.host.startswith("127."):
            raise ValueError(
                f"the simulator only binds to loopback (control endpoints have no auth): {config.host}"
            )
        self.config = config
        self.raw_account = account
        self.account: Account = MemoAccount(account)
        self.clock = clock
        self.base_url = ""  # set once the socket is bound
        self.stats = Stats()
        self.tokens = TokenStore(
            account_id=config.account_id or account.account_id,
            client_id=config.client_id,
            client_secret=config.client_secret,
            ttl=config.token_ttl_s,
            scopes=config.scopes,
            invalidate_previous=config.invalidate_previous_tokens,
        )
        self.limiter = RateLimiter(
            config.plan, scale=config.rate_scale, enabled=config.rate_limits, today=clock.now
        )
        self.faults = FaultInjector(config.faults, config.seed)
        self.pages = PageTokens(f"pages:{config.seed}:{account.account_id}", config.page_token_ttl_s)
        self.control = Control(self.stats, clock, self.faults, self.tokens, self.pages, self.limiter)
        self.stopping = threading.Event()
        self._latency_rng = random.Random(f"latency:{config.seed}")
        self._rng_lock = threading.Lock()
        self._graphql: Any = None
        self._graphql_lock = threading.Lock()
        self._graphql_requests = 0
        self._served = 0
        self._served_cond = threading.Condition()
        self.running = threading.Event()  # cleared: API requests wait (a test holds a client mid-run)
        self.running.set()

    # ---- entry -------------------------------------------------------------------------------------------

    def served(self) -> None:
        """One more request answered (or about to be): wakes ``wait_for_requests``."""
        with self._served_cond:
            self._served += 1
            self._served_cond.notify_all()

    def wait_for_requests(self, count: int, timeout: float) -> bool:
        """Block until ``count`` requests (any path) have been handled; False on timeout."""
        with self._served_cond:
            return self._served_cond.wait_for(lambda: self._served >= count, timeout)

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> Outcome:
        path, _, query = target.partition("?")
        if path == "/oauth/token":
            if method != "POST":
                return _json(405, {"reason": "Method not allowed", "error": "invalid_request"})
            status, data = self.tokens.token_request(query, body, headers.get("Authorization"), self.base_url)
            self.stats.record("/oauth/token", None, status)
            return _json(status, data)
        if path.startswith("/_sim/"):
            return _json(*self.control.handle(method, path, body))
        if path.startswith("/v2/") and method == "GET":
            return self._rest(path[3:], query, headers)
        if path == "/v3/graphql" and method == "POST" and self.config.graphql:
            return self._graphql_request(headers, body)
        self.stats.record("unknown", None, 404)
        return _json(404, NOT_FOUND)

    def _latency(self) -> float:
        cfg = self.config
        if not cfg.latency_ms and not cfg.jitter_ms:
            return 0.0
        with self._rng_lock:
            jitter = self._latency_rng.random() * cfg.jitter_ms
        return (cfg.latency_ms + jitter) / 1000.0

    def _gate(
        self, endpoint: str, category: str | None, scopes: tuple[str, ...], headers: Any
    ) -> Outcome | None:
        """Auth, storms, scopes and rate limits: an ``Outcome`` to send instead, or None to go on."""
        draw = self.faults.draw()
        if draw.expire_tokens:
            self.tokens.expire_all()
        if not self.tokens.valid(headers.get("Authorization")):
            return self._finish(endpoint, category, _json(401, INVALID_TOKEN))
        if draw.kind == "storm":
            self.faults.applied("storm")
            name = {"light": "Light", "medium": "Medium", "heavy": "Heavy"}.get(
                category or "", "Resource-intensive"
            )
            storm_headers = {
                "X-RateLimit-Category": name,
                "X-RateLimit-Type": "QPS",
                "X-RateLimit-Limit": "0",
                "X-RateLimit-Remaining": "0",
                "Retry-After": "1",
            }
            return self._finish(
                endpoint, category, _json(429, {"code": 429, "message": QPS_MESSAGE}, storm_headers)
            )
        if scopes and not set(scopes) & set(self.tokens.scopes):
            message = f"Invalid access token, does not contain scopes: [{', '.join(scopes)}]."
            return self._finish(endpoint, category, _json(400, {"code": 4700, "message": message}))
        decision_headers: dict[str, str] = {}
        if category is not None:
            decision = self.limiter.charge(category)
            self.stats.units(category, 1, decision.allowed)
            if not decision.allowed:
                body = {"code": 429, "message": decision.message}
                return self._finish(endpoint, category, _json(429, body, decision.headers))
            decision_headers = decision.headers
        if draw.kind in ("reset", "error", "timeout"):
            self.faults.applied(draw.kind)
        if draw.kind == "reset":
            return self._finish(endpoint, category, Outcome(0, b"", fault="reset"))
        if draw.kind == "error":
            return self._finish(endpoint, category, _json(draw.status, ERROR_BODIES[draw.status]))
        # Go on: the response carries the rate-limit headers and may still be cut short or held.
        fault = "truncate" if draw.kind == "truncate" else "malformed" if draw.malformed else None
        return Outcome(
            0,
            b"",
            decision_headers,
            fault=fault,
            hold=self.faults.settings.timeout_s if draw.kind == "timeout" else 0.0,
        )

    def _finish(self, endpoint: str, category: str | None, outcome: Outcome) -> Outcome:
        self.stats.record(endpoint, category, outcome.status)
        return outcome

    # ---- REST --------------------------------------------------------------------------------------------

    def _rest(self, raw_path: str, query: str, headers: Any) -> Outcome:
        hold = self._latency()
        found = match(raw_path)
        if found is None:
            outcome = self._finish("unknown", None, _json(404, NOT_FOUND))
            outcome.hold = hold
            return outcome
        route, raw_params = found
        endpoint = "/v2" + route.template
        gate = self._gate(endpoint, route.category, route.scopes, headers)
        if gate is not None and gate.status:
            gate.hold += hold
            return gate
        assert gate is not None
        if gate.fault == "reset":
            gate.hold += hold
            return gate
        parsed_query = dict(parse_qsl(query, keep_blank_values=True))
        token = parsed_query.get("next_page_token")
        if token and self.faults.page_token_expires(token):
            self.pages.expire(token)
        req = Request(
            template=route.template,
            params={},
            query=parsed_query,
            now=self.clock.now(),
            account=self.account,
            tokens=self.pages,
            plan=self.config.plan,
            page_cap=self.config.page_size_cap,
        )
        settings = self.faults.settings
        status, body = dispatch(route, raw_params, req, drift=settings.drift)
        targets = settings.bad_record_endpoints
        if status == 200 and settings.bad_record_rate > 0 and (not targets or route.template in targets):
            rate, log = settings.bad_record_rate, self.faults.record_mangled
            mangle.apply(body, route.template, self.config.seed, rate, log, settings.bad_record_kinds)
        return self._finish(
            endpoint,
            route.category,
            Outcome(status, orjson.dumps(body), gate.headers, fault=gate.fault, hold=gate.hold + hold),
        )

    # ---- GraphQL -----------------------------------------------------------------------------------------

    def _endpoint(self) -> Any:
        with self._graphql_lock:
            if self._graphql is None:
                from etl.simulator.graphql import GraphQLEndpoint

                self._graphql = GraphQLEndpoint(self.account, SDL_PATH)
            return self._graphql

    def _graphql_request(self, headers: Any, body: bytes) -> Outcome:
        hold = self._latency()
        endpoint = "/v3/graphql"
        gate = self._gate(endpoint, None, (), headers)
        if gate is not None and (gate.status or gate.fault == "reset"):
            gate.hold += hold
            return gate
        assert gate is not None
        if self.config.plan == "free":
            message = f"No permission. GraphQL is only available for paid account: {self.config.account_id}."
            return self._finish(endpoint, None, _json(403, {"code": 200, "message": message}))
        try:
            payload = orjson.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as exc:
            return self._finish(
                endpoint, None, _json(400, {"errors": [{"message": f"Invalid JSON body: {exc}"}]})
            )
        from etl.simulator.graphql import GraphQLContext

        with self._graphql_lock:
            self._graphql_requests += 1
            number = self._graphql_requests

        def charge(category: str, units: int = 1) -> bool:
            allowed = self.limiter.allow(category, units)
            self.stats.units(category, units, allowed)
            return allowed

        settings = self.faults.settings
        ctx = GraphQLContext(
            now=self.clock.now(),
            charge=charge,
            rng=random.Random(f"graphql:{self.config.seed}:{number}"),
            partial_error_rate=settings.graphql_partial_error_rate,
            drift=settings.drift,
        )
        status, data = self._endpoint().execute(payload, ctx)
        outcome = Outcome(status, orjson.dumps(data), gate.headers, fault=gate.fault, hold=gate.hold + hold)
        return self._finish(endpoint, None, outcome)


# ---- sockets -------------------------------------------------------------------------------------

_REASONS = {
    200: "OK",
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
            outcome = _json(500, ERROR_BODIES[500])
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
        lines = [
            f"HTTP/1.1 {outcome.status} {_REASONS.get(outcome.status, 'Error')}",
            "Content-Type: application/json; charset=utf-8",
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

    def stats(self) -> dict[str, Any]:
        return self.app.control.snapshot()

    def reset_stats(self) -> None:
        self.app.stats.reset()

    def set_faults(self, **knobs: object) -> FaultSettings:
        return self.app.faults.update(**knobs)

    def advance(self, *, days: float = 0, seconds: float = 0) -> datetime:
        return self.app.control.advance(days=days, seconds=seconds)

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

    def wait_for_requests(self, count: int, timeout: float = 60.0) -> bool:
        """Block until the server has handled ``count`` requests since it started (a condition, not a
        poll): how a test kills a client at a moment chosen by progress rather than by a timer."""
        return self.app.wait_for_requests(count, timeout)

    def stop(self) -> None:
        if self.app.stopping.is_set():
            return
        self.app.stopping.set()
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
    """The generated account for ``config.profile`` and ``config.seed``."""
    from etl.simulator.generate import generate

    return generate(config.profile, config.seed)


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
