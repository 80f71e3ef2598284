"""Faults the simulator injects into API requests, drawn from a seeded RNG so a run can be replayed.

Every API request (``/v2``, ``/v3/graphql``; never ``/oauth`` or ``/_sim``) takes exactly one draw of each
random knob, in arrival order, so the same seed and the same request sequence give the same faults. Knobs:

- ``error_rate``: answer 500/502/503 with a Zoom-like body instead of the real response;
- ``reset_rate``: close the connection without answering (the client sees a reset or an empty reply);
- ``timeout_rate`` / ``timeout_s``: hold the request ``timeout_s`` seconds before answering;
- ``truncate_rate``: announce the full ``Content-Length``, send half the body, close;
- ``graphql_error_rate``: answer a GraphQL request (only) 503, drawn from its own RNG like ``malformed_rate``;
  with a client that does not retry, each one makes a stream fall back to REST mid-run;
- ``graphql_partial_error_rate`` and ``drift``: handed to the GraphQL module; ``drift`` also adds new fields
  to REST list items and drops optional ones;
- ``token_expiry_every``: every N-th API request first expires every issued access token;
- ``storm_every`` / ``storm_length``: every N-th API request starts a 429 storm of that many requests;
  ``storm_requests`` starts one at run time (the next that many API requests all get 429);
- ``malformed_rate``: a 200 answer whose body is not JSON (full length, broken syntax), drawn from its own
  RNG so that turning it on leaves the other knobs' sequences as they were;
- ``bad_record_rate`` / ``bad_record_endpoints``: REST list items spoiled (wrong types, missing or null
  identity fields, nested values, huge and unicode strings...), chosen by content, not by arrival order:
  see ``etl.simulator.rest.mangle``. ``bad_record_endpoints`` limits it to some route templates
  (``"/report/activities"``); empty means every list endpoint; ``bad_record_kinds`` limits the kinds.
  ``FaultInjector.mangled`` logs each spoiled item;
- ``bare_429_rate``: the share of 429 answers (rate limits and storms) sent without ``Retry-After`` and
  without any ``X-RateLimit-*`` header, as some real ones are (devforum t/18928); its own RNG;
- ``pending_lookup_failure_rate``: the share of pending users whose lookup by email (``GET /users/{email}``)
  fails, chosen by content (the user, the seed), half with 1001 (HTTP 404, "not exist") and half with 1120
  (HTTP 400, invitation expired), as real lookups sometimes do (devforum t/98314);
- ``page_token_expiry_every``: every N-th distinct ``next_page_token`` presented is found expired (error
  300), once: the listing restarts, and the same token works the next time, so a listing restarts at most
  once per page (Zoom's tokens live 15 minutes: a long backfill meets this).
- recording downloads (``etl.simulator.downloads``): ``download_redirect`` (on by default) sends each
  ``download_url`` on to a second host name; ``download_drops`` / ``download_drop_bytes``: the next
  ``download_drops`` file answers stop after ``download_drop_bytes`` bytes of their body (connection
  reset); ``download_html``: every download is refused with Zoom's HTML page, even with a good token (a
  recording the app may not download); ``download_short_bytes``: files are served that many bytes
  shorter than listed, cleanly ended (a size mismatch).
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, fields, replace

KINDS = ("storm", "reset", "timeout", "error", "truncate")


@dataclass(frozen=True, slots=True)
class FaultSettings:
    """The fault knobs; all off by default."""

    error_rate: float = 0.0
    reset_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_s: float = 30.0
    truncate_rate: float = 0.0
    graphql_partial_error_rate: float = 0.0
    graphql_error_rate: float = 0.0
    drift: bool = False
    token_expiry_every: int = 0
    storm_every: int = 0
    storm_length: int = 0
    storm_requests: int = 0
    malformed_rate: float = 0.0
    bad_record_rate: float = 0.0
    bad_record_endpoints: tuple[str, ...] = ()
    bad_record_kinds: tuple[str, ...] = ()  # empty: every kind of etl.simulator.rest.mangle.KINDS
    page_token_expiry_every: int = 0
    bare_429_rate: float = 0.0
    pending_lookup_failure_rate: float = 0.0
    download_redirect: bool = True
    download_drop_bytes: int = 0
    download_drops: int = 0
    download_html: bool = False
    download_short_bytes: int = 0

    def __post_init__(self) -> None:
        for name in (
            "error_rate",
            "reset_rate",
            "timeout_rate",
            "truncate_rate",
            "graphql_partial_error_rate",
            "graphql_error_rate",
            "malformed_rate",
            "bad_record_rate",
            "bare_429_rate",
            "pending_lookup_failure_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"fault knob {name} must be within [0, 1], got {value}")
        for name in (
            "timeout_s",
            "token_expiry_every",
            "storm_every",
            "storm_length",
            "storm_requests",
            "page_token_expiry_every",
            "download_drop_bytes",
            "download_drops",
            "download_short_bytes",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"fault knob {name} must be >= 0, got {getattr(self, name)}")

    def with_knobs(self, **knobs: object) -> FaultSettings:
        """A copy with some knobs changed; unknown names and wrong types are refused with the name."""
        known = {f.name: f.type for f in fields(self)}
        clean: dict[str, object] = {}
        for name, value in knobs.items():
            if name not in known:
                raise ValueError(f"unknown fault knob {name!r}; known: {sorted(known)}")
            current = getattr(self, name)
            if isinstance(current, tuple):
                if isinstance(value, str) or not isinstance(value, list | tuple):
                    raise ValueError(f"fault knob {name} takes a list of strings, got {value!r}")
                if not all(isinstance(v, str) for v in value):
                    raise ValueError(f"fault knob {name} takes a list of strings, got {value!r}")
                clean[name] = tuple(value)
                continue
            if isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"fault knob {name} takes true/false, got {value!r}")
            elif isinstance(current, int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"fault knob {name} takes an integer, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"fault knob {name} takes a number, got {value!r}")
            else:
                value = float(value)
            clean[name] = value
        return replace(self, **clean)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Draw:
    """What happens to one API request: at most one fault ``kind``, and maybe a token expiry first."""

    kind: str | None
    expire_tokens: bool = False
    status: int = 0  # for kind == "error"
    malformed: bool = False  # a 200 body that is not JSON


class FaultInjector:
    """Holds the current settings and draws faults request by request; thread-safe."""

    def __init__(self, settings: FaultSettings, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"faults:{seed}")
        self._malformed_rng = random.Random(f"malformed:{seed}")
        self._graphql_rng = random.Random(f"graphql-error:{seed}")
        self._bare_rng = random.Random(f"bare-429:{seed}")
        self.seed = seed
        self.mangled: list[dict[str, object]] = []
        self._settings = settings
        self._storm_left = settings.storm_requests
        self._drops_left = settings.download_drops
        self.requests = 0
        self.injected: dict[str, int] = dict.fromkeys(
            (
                *KINDS,
                "token_expiry",
                "malformed",
                "bad_record",
                "page_token_expiry",
                "graphql_error",
                "bare_429",
                "pending_lookup",
                "download_drop",
            ),
            0,
        )
        self._follow_ups: set[str] = set()

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def update(self, **knobs: object) -> FaultSettings:
        with self._lock:
            self._settings = self._settings.with_knobs(**knobs)
            if "storm_requests" in knobs:
                self._storm_left = self._settings.storm_requests
            if "download_drops" in knobs:
                self._drops_left = self._settings.download_drops
            return self._settings

    def state(self) -> dict[str, object]:
        with self._lock:
            return {
                **self._settings.as_dict(),
                "storm_left": self._storm_left,
                "injected": dict(self.injected),
            }

    def draw(self) -> Draw:
        with self._lock:
            s = self._settings
            self.requests += 1
            n = self.requests
            # One draw per random knob per request, whatever the knobs are, so sequences stay aligned.
            r_error, r_reset, r_timeout, r_truncate, r_status = (self._rng.random() for _ in range(5))
            expire = s.token_expiry_every > 0 and n % s.token_expiry_every == 0
            if expire:
                self.injected["token_expiry"] += 1
            if s.storm_every > 0 and s.storm_length > 0 and n % s.storm_every == 0:
                self._storm_left = max(self._storm_left, s.storm_length)
            kind: str | None = None
            status = 0
            if self._storm_left > 0:
                self._storm_left -= 1
                kind = "storm"
            elif r_reset < s.reset_rate:
                kind = "reset"
            elif r_timeout < s.timeout_rate:
                kind = "timeout"
            elif r_error < s.error_rate:
                kind = "error"
                status = (500, 502, 503)[int(r_status * 3)]
            elif r_truncate < s.truncate_rate:
                kind = "truncate"
            malformed = s.malformed_rate > 0 and self._malformed_rng.random() < s.malformed_rate
            return Draw(kind, expire, status, malformed and kind is None)

    def download_cut(self) -> int:
        """For one recording file answer: the body bytes to send before dropping the connection, or -1."""
        with self._lock:
            if self._drops_left <= 0:
                return -1
            self._drops_left -= 1
            self.injected["download_drop"] += 1
            return self._settings.download_drop_bytes

    def graphql_error(self) -> bool:
        """Drawn for each GraphQL request that got past the gate: True when it must answer 503."""
        with self._lock:
            rate = self._settings.graphql_error_rate
            if rate <= 0 or self._graphql_rng.random() >= rate:
                return False
            self.injected["graphql_error"] += 1
            return True

    def bare_429(self, headers: dict[str, str]) -> dict[str, str]:
        """The headers to send with one 429: as given, or none of them (``bare_429_rate``)."""
        with self._lock:
            rate = self._settings.bare_429_rate
            if rate <= 0 or self._bare_rng.random() >= rate:
                return headers
            self.injected["bare_429"] += 1
            return {}

    def pending_lookup_fails(self, email: str) -> int:
        """0, or the Zoom code (1001 or 1120) a lookup by email of this pending user fails with."""
        rate = self._settings.pending_lookup_failure_rate
        if rate <= 0:
            return 0
        draw = random.Random(f"pending-lookup:{self.seed}:{email.lower()}").random()
        if draw >= rate:
            return 0
        with self._lock:
            self.injected["pending_lookup"] += 1
        return 1001 if draw < rate / 2 else 1120

    def page_token_expires(self, token: str) -> bool:
        """Called for each REST request that presents a ``next_page_token``: True when that token is the
        N-th distinct one seen (each token is refused at most once)."""
        with self._lock:
            every = self._settings.page_token_expiry_every
            if every <= 0 or token in self._follow_ups:
                return False
            self._follow_ups.add(token)
            if len(self._follow_ups) % every == 0:
                self.injected["page_token_expiry"] += 1
                return True
            return False

    def applied(self, kind: str) -> None:
        """Count a drawn fault once it is really applied (a request refused for its token first, say, never
        gets the 5xx it drew), so ``injected`` is what clients actually met."""
        with self._lock:
            self.injected[kind] += 1

    def record_mangled(self, endpoint: str, kind: str, field: str, item: object, list_key: str) -> None:
        """Log one spoiled list item (``etl.simulator.rest.mangle``), as sent."""
        with self._lock:
            self.injected["bad_record"] += 1
            self.mangled.append(
                {"endpoint": endpoint, "kind": kind, "field": field, "item": item, "list": list_key}
            )


ERROR_BODIES = {
    500: {"code": 500, "message": "Internal Server Error"},
    502: {"code": 502, "message": "Bad Gateway"},
    503: {"code": 503, "message": "Service Unavailable. Please try again later."},
}
