"""``zoom-etl doctor``: preflight checks against the configured Zoom API, as plain results.

Every network check goes through the one client (``ZoomClient``), so auth, retries and rate limits apply
exactly as in a sync; a doctor that took another road could pass while the sync fails. Checks, in order:

    settings   accounts, URLs, stream names (global; a failure here is bad configuration, exit 2)
    oauth      a token is obtained (never shown): its lifetime and the API base in use
    rest       ``GET /v2/users?page_size=1``
    graphql    a minimal ``users`` query: available, or why not (free plan, 403, validation error)
    scopes     the token's ``scope`` against what every enabled stream's endpoints need
    clock      the API's ``Date`` header against the local clock (warn beyond 60 s)
    limits     per-category rates and daily caps implied by plan, rate_share and rate_scale

``ZoomClient`` keeps the token response to itself (rightly: it holds the token), so the doctor hands the
client an observing transport (``_Observer``) that notes the response's ``scope``, ``expires_in`` and
``api_url``, never ``access_token``, and the ``Date`` of every answer. GraphQL being unavailable is a
warning, never a failure: the engine then serves every stream from REST (``etl.extract.fallback``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
import orjson

from etl.config import AccountSettings, Settings, is_loopback
from etl.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ApiError, AuthError, TransportError
from etl.http import PLAN_LIMITS, RetryPolicy, ZoomClient
from etl.http.ratelimit import CATEGORIES
from etl.streams import BY_NAME, STREAMS, Stream, with_ancestors

Status = Literal["ok", "warn", "fail"]
MAX_SKEW_SECONDS = 60.0
GRAPHQL_PROBE = "{ users(first: 1) { edges { id } pageInfo { cursor } } }"

# Scopes per REST operation (any one of them suffices), in both families Zoom issues: classic (apps created
# before 2024) and granular (Server-to-Server apps created since). Each endpoint of the registry carries its
# own (``Endpoint.scopes``, ``Endpoint.granular``; tests/test_registry.py checks them against Zoom's OpenAPI
# file); these tables are derived from it. A stream's GraphQL query needs the same scopes as its first REST
# endpoint (Zoom: GraphQL scopes "operate similarly to REST scopes", FACTS.md §1.5), so the REST tables
# cover both sources.
SCOPES: Mapping[str, tuple[str, ...]] = {e.path: e.scopes for s in STREAMS for e in s.endpoints}
GRANULAR_SCOPES: Mapping[str, tuple[str, ...]] = {e.path: e.granular for s in STREAMS for e in s.endpoints}
_GRANULAR_NAMES = frozenset(s for names in GRANULAR_SCOPES.values() for s in names)
_CLASSIC_SCOPE = re.compile(r"^[a-z_]+:(read|write|master)(:admin)?$")


def granular_token(granted: Iterable[str]) -> bool:
    """Whether a token is a granular app's: it holds a granular scope (``family:action:resource[:admin]``)."""
    return any(s in _GRANULAR_NAMES or not _CLASSIC_SCOPE.match(s) for s in granted)


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    status: Status
    detail: str  # one line, never a secret
    account_id: str | None = None  # None: not about one account (settings)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def exit_code(results: Iterable[CheckResult]) -> int:
    """2 when the settings check failed (bad configuration), 1 when any other check failed, else 0."""
    failed = [r for r in results if r.status == "fail"]
    if any(r.name == "settings" for r in failed):
        return EXIT_USAGE
    return EXIT_FAILED if failed else EXIT_OK


def run_doctor(
    settings: Settings,
    *,
    transport: httpx.BaseTransport | None = None,
    wall: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[CheckResult]:
    """Every check for every configured account; account checks are skipped when settings fail.

    ``transport`` replaces the network (tests); ``wall`` is the local clock the ``Date`` is compared with.
    """
    first = check_settings(settings)
    if first.status == "fail":
        return [first]
    results = [first]
    for account in settings.accounts:
        results += check_account(account, settings, transport=transport, wall=wall)
    return results


def enabled_streams(settings: Settings) -> tuple[Stream, ...]:
    """The streams a sync with these settings runs: the selection plus the parents it needs."""
    names = with_ancestors(list(settings.streams)) if settings.streams else tuple(BY_NAME)
    return tuple(BY_NAME[name] for name in names)


def check_settings(settings: Settings) -> CheckResult:
    """What ``load_settings`` cannot know: stream names exist. Summarises accounts and streams."""
    unknown = sorted({*(settings.streams or ()), *settings.stream_sources} - set(BY_NAME))
    if unknown:
        return CheckResult(
            "settings", "fail", f"unknown stream(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}"
        )
    if not settings.accounts:
        return CheckResult("settings", "fail", "no Zoom account configured")
    streams = enabled_streams(settings)
    accounts = "; ".join(f"{a.account_id} ({a.plan}, {a.api_url})" for a in settings.accounts)
    where = f"config {settings.config_path}" if settings.config_path else "no config file"
    return CheckResult(
        "settings",
        "ok",
        f"{len(settings.accounts)} account(s): {accounts}; {len(streams)} stream(s); {where}",
    )


def check_account(
    account: AccountSettings,
    settings: Settings,
    *,
    transport: httpx.BaseTransport | None = None,
    wall: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[CheckResult]:
    """The account's checks, through one ``ZoomClient``."""
    observer = _Observer(transport or _default_transport(account), account.oauth_url, wall)
    results: list[CheckResult] = []

    def add(name: str, status: Status, detail: str) -> None:
        results.append(CheckResult(name, status, detail, account.account_id))

    # Retries apply as in a sync, but bounded tighter: a preflight should answer in seconds, not minutes.
    policy = RetryPolicy(
        max_attempts=min(3, settings.retry_attempts), max_total=min(10.0, settings.retry_max_seconds)
    )
    with ZoomClient(account, settings, transport=observer, policy=policy) as client:
        rest_error: ApiError | None = None
        users: Any = None
        try:
            users = client.rest_get("/users", {"page_size": 1}, category="medium").json()
        except ApiError as exc:
            rest_error = exc
        token = observer.token
        if token is None or token.status != 200:
            error = rest_error or AuthError("no token response", endpoint=urlsplit(account.oauth_url).path)
            add("oauth", "fail", f"{error}; the API checks need a token")
        else:
            add("oauth", "ok", token.describe(client.api_url))
            if rest_error is None:
                total = users.get("total_records") if isinstance(users, dict) else None
                add("rest", "ok", f"GET /v2/users answered 200 ({total} active users)")
            else:
                add("rest", "fail", str(rest_error))
            add(*_graphql(client, settings))
            add(*check_scopes(token.scopes, enabled_streams(settings)))
    add(*check_clock(observer.date, observer.answers > 0))
    add(*check_limits(account, settings))
    return results


def _graphql(client: ZoomClient, settings: Settings) -> tuple[str, Status, str]:
    forced = [name for name, source in settings.stream_sources.items() if source == "graphql"]
    if settings.default_source == "rest" and not forced:
        note = "; every stream is set to source=rest"
    elif client.account.plan == "free" and settings.default_source == "auto":
        note = "; free plan: streams on source=auto use REST without asking"
    else:
        note = ""
    try:
        body = client.graphql(GRAPHQL_PROBE, {}, category="medium").json()
    except (AuthError, TransportError) as exc:
        return "graphql", "fail", str(exc)
    except ApiError as exc:  # 403 (plan, permission), 404 (not served), 400: REST serves every stream
        return "graphql", "warn", f"unavailable, streams fall back to REST: {exc}{note}"
    errors = body.get("errors") if isinstance(body, dict) else None
    data = body.get("data") if isinstance(body, dict) else None
    users = data.get("users") if isinstance(data, dict) else None
    if errors or not isinstance(users, dict) or not isinstance(users.get("edges"), list):
        first = errors[0] if isinstance(errors, list) and errors else {}
        message = first.get("message") if isinstance(first, dict) else None
        reason = message or "no users connection in the answer"
        return "graphql", "warn", f"unavailable, streams fall back to REST: {reason}{note}"
    return "graphql", "ok", f"POST /v3/graphql answered a users page{note}"


def check_scopes(granted: tuple[str, ...] | None, streams: Iterable[Stream]) -> tuple[str, Status, str]:
    """Every endpoint of every stream against the token's scopes: one scope of either family suffices, and
    a missing one is named in the token's family (granular names for a granular token, classic otherwise).

    A stream's first REST endpoint (which its GraphQL query mirrors) and its per-record details are
    required; later endpoints are per-resource fallbacks, so lacking their scope is only a warning.
    """
    streams = tuple(streams)
    if not granted:
        return "scopes", "warn", "the token response lists no scope; scopes not checked"
    have = set(granted)
    granular = granular_token(have)
    missing: dict[tuple[str, ...], list[str]] = {}
    fallback: dict[tuple[str, ...], list[str]] = {}
    for stream in streams:
        required = (*stream.rest[:1], *((stream.details,) if stream.details else ()))
        for endpoint in stream.endpoints:
            if have.isdisjoint(endpoint.scopes) and have.isdisjoint(endpoint.granular):
                target = missing if endpoint in required else fallback
                names = target.setdefault(endpoint.granular if granular else endpoint.scopes, [])
                if stream.name not in names:
                    names.append(stream.name)
    shown = ", ".join(sorted(have))
    family = "granular" if granular else "classic"
    if not missing and not fallback:
        return "scopes", "ok", f"{len(streams)} stream(s) covered by the token's {family} scopes: {shown}"
    parts = [f"{' or '.join(k)} for {', '.join(v)}" for k, v in missing.items()]
    parts += [f"{' or '.join(k)} for fallbacks of {', '.join(v)}" for k, v in fallback.items()]
    if missing:
        return "scopes", "fail", f"missing ({family} scopes): {'; '.join(parts)} (token grants: {shown})"
    return "scopes", "warn", f"missing ({family} scopes): {'; '.join(parts)}"


def check_clock(date: tuple[str, datetime] | None, answered: bool = True) -> tuple[str, Status, str]:
    """``date``: the last ``Date`` header seen and the local time it arrived; warn beyond 60 s of skew."""
    if date is None:
        reason = "the API sent no Date header" if answered else "no answer from the API"
        return "clock", "warn", f"{reason}; clock skew not measured"
    header, received = date
    try:
        server = parsedate_to_datetime(header).astimezone(UTC)
    except (TypeError, ValueError):
        return "clock", "warn", f"unreadable Date header {header!r}; clock skew not measured"
    skew = (server - received).total_seconds()
    if abs(skew) <= MAX_SKEW_SECONDS:
        return "clock", "ok", f"skew {skew:+.0f} s (Date: {header})"
    side = "ahead of" if skew > 0 else "behind"
    return (
        "clock",
        "warn",
        f"the API clock is {_duration(abs(skew))} {side} the local clock (Date: {header}); "
        "date windows follow the API's clock",
    )


def check_limits(account: AccountSettings, settings: Settings) -> tuple[str, Status, str]:
    """The rates and daily caps ``RateLimiter`` applies: Zoom's plan limits x rate_share x rate_scale."""
    plan = PLAN_LIMITS[account.plan]
    factor = settings.rate_share * settings.rate_scale
    rates = ", ".join(f"{_label(c)} {_rate(plan.per_second[c] * factor)}" for c in CATEGORIES)
    caps = [f"{_label(c)} {math.floor(cap * factor):,}/day" for c, cap in plan.per_day.items() if cap]
    if settings.heavy_daily_budget is not None:
        caps.append(f"heavy+resource-intensive {settings.heavy_daily_budget:,}/day (heavy_daily_budget)")
    elif plan.heavy_per_day is not None:
        caps.append(f"heavy+resource-intensive {math.floor(plan.heavy_per_day * factor):,}/day")
    scale = f" x rate_scale {settings.rate_scale:g}" if settings.rate_scale != 1 else ""
    detail = (
        f"{account.plan} plan x rate_share {settings.rate_share:g}{scale}: {rates}; "
        f"daily: {', '.join(caps) or 'no cap'}"
    )
    host = urlsplit(account.api_url).hostname or ""
    if settings.rate_scale > 1 and not is_loopback(host):
        return "limits", "warn", f"{detail}; rate_scale > 1 exceeds Zoom's real limits (simulator only)"
    return "limits", "ok", detail


def _label(category: str) -> str:
    return category.replace("_", "-")


def _rate(per_second: float) -> str:
    if per_second >= 0.5:
        return f"{per_second:.4g}/s"
    return f"{per_second * 60:.4g}/min"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@dataclass(frozen=True, slots=True)
class TokenFacts:
    """What the doctor keeps of a token response: never the token itself."""

    status: int
    scopes: tuple[str, ...] | None = None
    expires_in: float | None = None
    api_url: str | None = None

    def describe(self, api_in_use: str) -> str:
        life = f"expires in {_duration(self.expires_in)}" if self.expires_in else "no expires_in"
        sent = f"api_url {self.api_url}" if self.api_url else "no api_url in the token response"
        return f"token obtained ({life}); {sent}; requests go to {api_in_use}"


class _Observer(httpx.BaseTransport):
    """Passes every request to ``inner``; notes the token response's facts and the last ``Date`` seen."""

    def __init__(self, inner: httpx.BaseTransport, oauth_url: str, wall: Callable[[], datetime]) -> None:
        self._inner = inner
        self._wall = wall
        parts = urlsplit(oauth_url)
        self._oauth = ((parts.hostname or "").lower(), parts.path or "/")
        self.token: TokenFacts | None = None
        self.date: tuple[str, datetime] | None = None  # (Date header, local time it arrived)
        self.answers = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        self.answers += 1
        if response.headers.get("date"):
            self.date = (response.headers["date"], self._wall())
        if (request.url.host.lower(), request.url.path) != self._oauth:
            return response
        stream = response.stream
        if not isinstance(stream, httpx.SyncByteStream):
            return response
        try:  # the bytes as sent (maybe compressed): the client decodes them again
            raw = b"".join(stream)  # the stream, not iter_raw(): a test's response may be pre-read
        finally:
            response.close()
        self.token = _token_facts(httpx.Response(response.status_code, headers=response.headers, content=raw))
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(raw),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._inner.close()


def _token_facts(response: httpx.Response) -> TokenFacts:
    try:
        body = orjson.loads(response.read())
    except (orjson.JSONDecodeError, httpx.DecodingError):
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        return TokenFacts(response.status_code)
    scope = body.get("scope")
    expires = body.get("expires_in")
    api_url = body.get("api_url")
    return TokenFacts(
        status=200,
        scopes=tuple(scope.replace(",", " ").split()) if isinstance(scope, str) else None,
        expires_in=float(expires) if isinstance(expires, int | float) and expires > 0 else None,
        api_url=api_url if isinstance(api_url, str) else None,
    )


class _ClientTransport(httpx.BaseTransport):
    """The network as ``ZoomClient`` reaches it on its own: environment proxies included, except on
    loopback (a client given a transport ignores proxy variables, so the doctor brings them back)."""

    def __init__(self, trust_env: bool) -> None:
        self._client = httpx.Client(trust_env=trust_env, follow_redirects=False)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._client.send(request, stream=True)

    def close(self) -> None:
        self._client.close()


def _default_transport(account: AccountSettings) -> httpx.BaseTransport:
    hosts = (urlsplit(account.api_url).hostname or "", urlsplit(account.oauth_url).hostname or "")
    return _ClientTransport(trust_env=not all(is_loopback(h) for h in hosts))
