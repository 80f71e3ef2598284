"""The settings themselves: plain frozen values, built once by ``load_settings`` and passed down.

``Secret`` keeps the client secret out of every repr, log line and error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

PLANS = ("free", "pro", "business", "enterprise")
SOURCES = ("auto", "graphql", "rest")
LOG_FORMATS = ("auto", "text", "json")
DEFAULT_API_URL = "https://api.zoom.us"
DEFAULT_OAUTH_URL = "https://zoom.us/oauth/token"
DEFAULT_CONFIG_FILE = "zoom-etl.toml"


class Secret:
    """A value that must never be shown: repr and str are ``***``; ``reveal()`` is the one way in."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "***"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """One Zoom account reached with a Server-to-Server OAuth app."""

    account_id: str
    client_id: str
    client_secret: Secret
    api_url: str = DEFAULT_API_URL
    oauth_url: str = DEFAULT_OAUTH_URL
    plan: str = "pro"
    # The account's own warehouse file (``warehouse`` in its ``[[accounts]]`` table); None: the settings'
    # warehouse, shared with every other account that has none.
    warehouse: Path | None = None


@dataclass(frozen=True, slots=True)
class Timeouts:
    """httpx timeouts in seconds. ``read`` is generous: Heavy report pages can take seconds to build."""

    connect: float = 10.0
    read: float = 60.0
    write: float = 30.0
    pool: float = 60.0


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """Zoom's events (``zoom-etl webhooks serve``, ``sync --events``); see ``etl.config.webhooks``."""

    secret_token: Secret | None = None  # the app's Secret Token: signs every delivery
    spool: Path | None = None  # None: ``<warehouse>.events/`` beside the warehouse
    tolerance_seconds: float = 300.0  # how far x-zm-request-timestamp may be from now
    max_body_bytes: int = 1024 * 1024
    reconcile_every_seconds: float = (
        86400.0  # ``sync --events`` polls everything when the last full sync is older
    )
    pending_hours: float = 48.0  # how long a meeting.ended waits for Zoom's report before the poll takes over

    def spool_for(self, warehouse: Path) -> Path:
        return self.spool or warehouse.with_name(warehouse.stem + ".events")


@dataclass(frozen=True, slots=True)
class Settings:
    accounts: tuple[AccountSettings, ...]
    warehouse: Path = Path("zoom_etl.duckdb")
    rate_share: float = 0.8  # share of each plan limit we use; the rest is left to other apps
    rate_scale: float = 1.0  # multiplies every limit; the simulator's benchmarks compress time with it
    # Heavy + Resource-intensive calls per UTC day; None: the plan's daily cap x rate_share
    heavy_daily_budget: int | None = None
    max_concurrency: int = 64  # requests in flight per account; enough to hide 300 ms at Business rates
    max_concurrent_accounts: int = 8  # accounts a sync runs at once (each within its own rate limits)
    timeouts: Timeouts = field(default_factory=Timeouts)
    retry_attempts: int = 6  # attempts per request (first try included) on 5xx and network failures
    retry_max_seconds: float = 300.0  # total backoff one request may spend (limiter waits not counted)
    max_response_bytes: int = 64 * 1024 * 1024  # a larger body is refused (etl.http.body)
    request_deadline: float = 300.0  # seconds one attempt may take, body included (etl.http.body)
    lookback_days: int = 2
    default_source: str = "auto"
    stream_sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    streams: tuple[str, ...] | None = None  # None: every stream
    log_format: str = "auto"
    raw_landing: bool = True  # keep raw payloads in the ``raw`` schema so tables can be rebuilt offline
    config_path: Path | None = None  # the file that was read, if any
    # What the user should fix but need not stop for (a config file holding a secret that every user
    # of the machine may read); the CLI prints each once, on stderr. Never holds a secret's value.
    warnings: tuple[str, ...] = ()
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)

    def warehouse_for(self, account: AccountSettings) -> Path:
        """The warehouse file ``account`` is synced into: its own, else the shared one."""
        return account.warehouse or self.warehouse

    def source_for(self, stream: str) -> str:
        """``auto``, ``graphql`` or ``rest`` for one stream."""
        return self.stream_sources.get(stream, self.default_source)
