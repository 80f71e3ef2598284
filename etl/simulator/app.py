"""What the simulator answers to a request, independent of sockets: routing, gating and dispatch.

``App.handle`` takes a method, the raw target (undecoded, for Zoom's double-encoded uuids), headers and body,
and returns an ``Outcome``; the socket layer (``etl.simulator.server``) only carries it out, so every
Zoom-shaped decision lives here. The request pipeline, in order:

    route → latency → fault draw (token expiry) → auth (124) → 429 storm → scope (4700 / 4711)
          → rate limit (429) → reset / timeout / 5xx / truncate → handler (+ drift)

Choices where Zoom's behaviour is not documented (each Zoom-shaped, each tested):
- ``me`` as userId: HTTP 400, code 200, "No permission. "me" is not supported for Server-to-Server OAuth
  tokens..."; missing scope: HTTP 400, code 4700 (classic token) or 4711 (granular token), on REST and on
  GraphQL (each resource field, ``etl.simulator.graphql_scopes``); unknown path: HTTP 404, code 404.
- GraphQL on the Free plan: HTTP 403, code 200 "No permission ... only available for paid account";
  ``graphql=False``: ``/v3/graphql`` is an unknown path (404).
- Success headers: ``X-RateLimit-Category/Limit/Remaining``, where Limit/Remaining are the daily cap and
  what is left of it when the category has one on the plan, else the per-second limit and tokens left.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson

from etl.resources import GRAPHQL_SCHEMA
from etl.simulator.clock import SimClock
from etl.simulator.control import Control, Stats
from etl.simulator.faults import ERROR_BODIES, FaultInjector, FaultSettings
from etl.simulator.graphql_scopes import needed_scopes
from etl.simulator.memo import MemoAccount
from etl.simulator.model import Account
from etl.simulator.oauth import ALL_SCOPES, INVALID_TOKEN, TokenStore
from etl.simulator.ratelimit import QPS_MESSAGE, RateLimiter
from etl.simulator.rest import GRANULAR_SCOPES, ROUTES, dispatch, mangle, match
from etl.simulator.rest.common import Request
from etl.simulator.rest.paging import PageTokens

SDL_PATH = GRAPHQL_SCHEMA
LOOPBACK = ("127.0.0.1", "localhost", "::1")
NOT_FOUND = {"code": 404, "message": "No API found for this path."}
GRANULAR_SET = frozenset(s for r in ROUTES for s in r.granular)


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything that shapes one simulator run. Same config, seed and clock moves → same response bytes."""

    profile: str = "demo"
    seed: int = 0
    epoch: datetime | None = None  # the clock's start; None: the current UTC day (clock.default_epoch)
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
    scopes: tuple[str, ...] | str = ALL_SCOPES  # "classic", "granular" or the exact list the token holds
    graphql: bool = True
    # What GraphQL ``users`` without a ``status`` lists: every status (None), or only one, as REST's
    # ``GET /users`` does ("active"). Zoom documents neither; the product must be complete under both.
    graphql_users_status: str | None = None
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


def json_outcome(status: int, body: object, headers: dict[str, str] | None = None) -> Outcome:
    """Every answer is JSON, including the socket layer's own 500 for a simulator bug."""
    return Outcome(status, orjson.dumps(body), headers or {})


def resolve_scopes(scopes: tuple[str, ...] | str) -> tuple[str, ...]:
    """What a token holds: every classic scope (apps created before 2024), every granular one (since), or
    an explicit list (a scope missing)."""
    if scopes == "classic":
        return ALL_SCOPES
    if scopes == "granular":
        return GRANULAR_SCOPES
    if isinstance(scopes, str):
        raise ValueError(f"scopes must be 'classic', 'granular' or a list of scopes, got {scopes!r}")
    return tuple(scopes)


def scope_refusal(
    granted: tuple[str, ...], classic: tuple[str, ...], granular: tuple[str, ...]
) -> Outcome | None:
    """Zoom's answer to a token holding none of an operation's scopes, in the token's family: a token with
    any granular scope is a granular app's (4711, naming the granular scopes), else a classic one (4700)."""
    have = set(granted)
    if have & set(classic) or have & set(granular):
        return None
    if have & GRANULAR_SET:
        message = f"Invalid access token, does not contain scopes:[{', '.join(granular)}]."
        return json_outcome(400, {"code": 4711, "message": message})
    message = f"Invalid access token, does not contain scopes: [{', '.join(classic)}]."
    return json_outcome(400, {"code": 4700, "message": message})


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
            scopes=resolve_scopes(config.scopes),
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

    @property
    def served_count(self) -> int:
        with self._served_cond:
            return self._served

    def wait_for_requests(self, count: int, timeout: float) -> bool:
        """Block until ``count`` requests (any path) have been handled; False on timeout."""
        with self._served_cond:
            return self._served_cond.wait_for(lambda: self._served >= count, timeout)

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> Outcome:
        path, _, query = target.partition("?")
        if path == "/oauth/token":
            if method != "POST":
                return json_outcome(405, {"reason": "Method not allowed", "error": "invalid_request"})
            status, data = self.tokens.token_request(query, body, headers.get("Authorization"), self.base_url)
            self.stats.record("/oauth/token", None, status)
            return json_outcome(status, data)
        if path.startswith("/_sim/"):
            return json_outcome(*self.control.handle(method, path, body))
        if path.startswith("/v2/") and method == "GET":
            return self._rest(path[3:], query, headers)
        if path == "/v3/graphql" and method == "POST" and self.config.graphql:
            return self._graphql_request(headers, body)
        self.stats.record("unknown", None, 404)
        return json_outcome(404, NOT_FOUND)

    def _latency(self) -> float:
        cfg = self.config
        if not cfg.latency_ms and not cfg.jitter_ms:
            return 0.0
        with self._rng_lock:
            jitter = self._latency_rng.random() * cfg.jitter_ms
        return (cfg.latency_ms + jitter) / 1000.0

    def _gate(
        self,
        endpoint: str,
        category: str | None,
        scopes: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...],
        headers: Any,
    ) -> Outcome | None:
        """Auth, storms, scopes and rate limits: an ``Outcome`` to send instead, or None to go on."""
        draw = self.faults.draw()
        if draw.expire_tokens:
            self.tokens.expire_all()
        if not self.tokens.valid(headers.get("Authorization")):
            return self._finish(endpoint, category, json_outcome(401, INVALID_TOKEN))
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
            body = {"code": 429, "message": QPS_MESSAGE}
            return self._finish(
                endpoint, category, json_outcome(429, body, self.faults.bare_429(storm_headers))
            )
        for classic, granular in scopes:  # every operation the request performs (GraphQL: each root field)
            refusal = scope_refusal(self.tokens.scopes, classic, granular)
            if refusal is not None:
                return self._finish(endpoint, category, refusal)
        decision_headers: dict[str, str] = {}
        if category is not None:
            decision = self.limiter.charge(category)
            self.stats.units(category, 1, decision.allowed)
            if not decision.allowed:
                body = {"code": 429, "message": decision.message}
                bare = self.faults.bare_429(decision.headers)
                return self._finish(endpoint, category, json_outcome(429, body, bare))
            decision_headers = decision.headers
        if draw.kind in ("reset", "error", "timeout"):
            self.faults.applied(draw.kind)
        if draw.kind == "reset":
            return self._finish(endpoint, category, Outcome(0, b"", fault="reset"))
        if draw.kind == "error":
            return self._finish(endpoint, category, json_outcome(draw.status, ERROR_BODIES[draw.status]))
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
            outcome = self._finish("unknown", None, json_outcome(404, NOT_FOUND))
            outcome.hold = hold
            return outcome
        route, raw_params = found
        endpoint = "/v2" + route.template
        gate = self._gate(endpoint, route.category, ((route.scopes, route.granular),), headers)
        if gate is not None and gate.status:
            gate.hold += hold
            return gate
        assert gate is not None
        if gate.fault == "reset":
            gate.hold += hold
            return gate
        if route.template.startswith("/report/") and self.config.plan == "free":
            # Zoom's OpenAPI file, every report operation: "Prerequisites: Pro or higher plan".
            message = f"Only available for paid account: {self.tokens.account_id}."
            refusal = json_outcome(400, {"code": 200, "message": message}, gate.headers)
            return self._finish(endpoint, route.category, refusal)
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
            max_page=route.max_page,
            page_number=route.page_number,
            pending_lookup=self.faults.pending_lookup_fails,
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
        if self.faults.graphql_error():
            return self._finish(endpoint, None, json_outcome(503, ERROR_BODIES[503]))
        if self.config.plan == "free":
            message = f"No permission. GraphQL is only available for paid account: {self.config.account_id}."
            return self._finish(endpoint, None, json_outcome(403, {"code": 200, "message": message}))
        try:
            payload = orjson.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as exc:
            return self._finish(
                endpoint, None, json_outcome(400, {"errors": [{"message": f"Invalid JSON body: {exc}"}]})
            )
        for classic, granular in needed_scopes(payload.get("query")):
            refusal = scope_refusal(self.tokens.scopes, classic, granular)
            if refusal is not None:
                return self._finish(endpoint, None, refusal)
        from etl.simulator.graphql_context import GraphQLContext

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
            users_status=self.config.graphql_users_status,
        )
        status, data = self._endpoint().execute(payload, ctx)
        outcome = Outcome(status, orjson.dumps(data), gate.headers, fault=gate.fault, hold=gate.hold + hold)
        return self._finish(endpoint, None, outcome)
