"""Settings, built once by ``load_settings`` and passed down; nothing reads the environment later.

Each value comes from the first layer that has it: flags, then the environment, then the TOML file
(``zoom-etl.toml`` in the working directory, or the path given), then the defaults below. Every value
remembers where it came from, so a bad one is reported as ONE line naming the setting and its origin
(``ZOOM_PLAN (environment): must be one of free, pro, business, enterprise``), never with a secret's value.

Accounts. Flags and the environment describe at most one account (``ZOOM_ACCOUNT_ID``...); the file may
list several as ``[[accounts]]`` tables. An account id given by flag or environment selects that account
from the file (its credentials fill what flags and environment leave out); without one, every file account
is synced. ``api_url``, ``oauth_url`` and ``plan`` resolve per account: flag, environment, the account's
table, the file's top level, default.

Secrets come only from the environment or the file: a ``client_secret`` flag is refused, because flags
end up in shell history and process listings. The secret is held in ``Secret``, whose repr and str are
``***``.

Rate share. Zoom's rate limits are per account and shared by every app on it, so by default we use 80%
of each per-second limit (``rate_share = 0.8``) and leave the rest to other apps; a backfill must not
starve the account's other integrations. ``heavy_daily_budget`` caps our Heavy + Resource-intensive calls
per UTC day (default: the plan's daily cap times ``rate_share``).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from etl.errors import ConfigError

PLANS = ("free", "pro", "business", "enterprise")
SOURCES = ("auto", "graphql", "rest")
LOG_FORMATS = ("auto", "text", "json")
DEFAULT_API_URL = "https://api.zoom.us"
DEFAULT_OAUTH_URL = "https://zoom.us/oauth/token"
DEFAULT_CONFIG_FILE = "zoom-etl.toml"
_STREAM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


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


@dataclass(frozen=True, slots=True)
class Timeouts:
    """httpx timeouts in seconds. ``read`` is generous: Heavy report pages can take seconds to build."""

    connect: float = 10.0
    read: float = 60.0
    write: float = 30.0
    pool: float = 60.0


@dataclass(frozen=True, slots=True)
class Settings:
    accounts: tuple[AccountSettings, ...]
    warehouse: Path = Path("zoom.duckdb")
    rate_share: float = 0.8  # share of each plan limit we use; the rest is left to other apps
    rate_scale: float = 1.0  # multiplies every limit; the simulator's benchmarks compress time with it
    # Heavy + Resource-intensive calls per UTC day; None: the plan's daily cap x rate_share
    heavy_daily_budget: int | None = None
    max_concurrency: int = 64  # requests in flight per account; enough to hide 300 ms at Business rates
    timeouts: Timeouts = field(default_factory=Timeouts)
    retry_attempts: int = 6  # attempts per request (first try included) on 5xx and network failures
    retry_max_seconds: float = 300.0  # total backoff one request may spend (limiter waits not counted)
    lookback_days: int = 2
    default_source: str = "auto"
    stream_sources: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    streams: tuple[str, ...] | None = None  # None: every stream
    log_format: str = "auto"
    raw_landing: bool = True  # keep raw payloads in the ``raw`` schema so tables can be rebuilt offline
    config_path: Path | None = None  # the file that was read, if any

    def source_for(self, stream: str) -> str:
        """``auto``, ``graphql`` or ``rest`` for one stream."""
        return self.stream_sources.get(stream, self.default_source)


# Flag names accepted by ``load_settings``; a flag whose value is None counts as not given.
FLAG_NAMES = frozenset(
    {
        "account_id",
        "client_id",
        "api_url",
        "oauth_url",
        "plan",
        "warehouse",
        "rate_share",
        "rate_scale",
        "heavy_daily_budget",
        "max_concurrency",
        "timeout",
        "retry_attempts",
        "lookback_days",
        "source",
        "sources",
        "streams",
        "log_format",
        "raw_landing",
    }
)

# Environment variables of the global settings (the account ones are in ``_ACCOUNT_ENV``).
_SETTING_ENV = {
    "warehouse": "ZOOM_ETL_WAREHOUSE",
    "rate_share": "ZOOM_ETL_RATE_SHARE",
    "rate_scale": "ZOOM_ETL_RATE_SCALE",
    "heavy_daily_budget": "ZOOM_ETL_HEAVY_DAILY_BUDGET",
    "max_concurrency": "ZOOM_ETL_MAX_CONCURRENCY",
    "timeout": "ZOOM_ETL_TIMEOUT",
    "retry_attempts": "ZOOM_ETL_RETRY_ATTEMPTS",
    "lookback_days": "ZOOM_ETL_LOOKBACK_DAYS",
    "source": "ZOOM_ETL_SOURCE",
    "streams": "ZOOM_ETL_STREAMS",
    "log_format": "ZOOM_ETL_LOG_FORMAT",
    "raw_landing": "ZOOM_ETL_RAW_LANDING",
}
_ACCOUNT_ENV = {
    "account_id": "ZOOM_ACCOUNT_ID",
    "client_id": "ZOOM_CLIENT_ID",
    "client_secret": "ZOOM_CLIENT_SECRET",
    "api_url": "ZOOM_API_URL",
    "oauth_url": "ZOOM_OAUTH_URL",
    "plan": "ZOOM_PLAN",
}
_ACCOUNT_KEYS = frozenset(_ACCOUNT_ENV)
_FILE_KEYS = (
    frozenset(_SETTING_ENV) | {"accounts", "api_url", "oauth_url", "plan", "timeouts", "retry_max_seconds"}
) - {"timeout"}


@dataclass(frozen=True, slots=True)
class _Value:
    """A raw setting value and where it came from (``flag --plan``, ``ZOOM_PLAN (environment)``...)."""

    raw: object
    origin: str


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')} (flag)"


def _fail(value: _Value, problem: str) -> ConfigError:
    return ConfigError(f"{value.origin}: {problem}".replace("\n", " "))


def load_settings(
    flags: Mapping[str, object],
    environ: Mapping[str, str],
    config_path: Path | None,
    *,
    require_accounts: bool = True,
) -> Settings:
    """Build the settings from flags, environment, file and defaults (in that order of precedence).

    ``config_path`` None means ``$ZOOM_ETL_CONFIG`` or ``./zoom-etl.toml`` when that file exists. Commands
    that never call Zoom (``sql``, ``status``, ``export``) pass ``require_accounts=False``.
    """
    unknown = sorted(set(flags) - FLAG_NAMES - {"client_secret"})
    if unknown:
        raise ConfigError(f"unknown setting flag(s): {', '.join(unknown)}")
    if flags.get("client_secret") is not None:
        raise ConfigError(
            "--client-secret (flag): secrets are not accepted as flags; set ZOOM_CLIENT_SECRET or "
            "client_secret in the config file"
        )
    path, file_data = _read_file(config_path, environ)
    file_label = str(path) if path else DEFAULT_CONFIG_FILE
    unknown = sorted(set(file_data) - _FILE_KEYS)
    if unknown:
        raise ConfigError(f"{file_label}: unknown key(s): {', '.join(unknown)}")

    def pick(name: str) -> _Value | None:
        if flags.get(name) is not None:
            return _Value(flags[name], _flag(name))
        env = _SETTING_ENV.get(name)
        if env and environ.get(env, "") != "":
            return _Value(environ[env], f"{env} (environment)")
        if name in file_data:
            return _Value(file_data[name], f"{name} in {file_label}")
        return None

    timeouts = _timeouts(pick("timeout"), file_data.get("timeouts"), file_label)
    stream_sources = _stream_sources(flags.get("sources"), file_data.get("streams"), file_label)
    streams_value = pick("streams")
    if isinstance(streams_value, _Value) and isinstance(streams_value.raw, Mapping):
        streams_value = None  # the file's [streams.<name>] tables configure sources, not the selection
    budget = pick("heavy_daily_budget")
    return Settings(
        accounts=_accounts(flags, environ, file_data, file_label, require_accounts),
        warehouse=_path(pick("warehouse")) or Path("zoom.duckdb"),
        rate_share=_number(pick("rate_share"), 0.8, low=0.0, high=1.0, low_open=True),
        rate_scale=_number(pick("rate_scale"), 1.0, low=0.0, high=1e6, low_open=True),
        heavy_daily_budget=None if budget is None else _integer(budget, 0, low=0),
        max_concurrency=_integer(pick("max_concurrency"), 64, low=1, high=256),
        timeouts=timeouts,
        retry_attempts=_integer(pick("retry_attempts"), 6, low=1, high=50),
        retry_max_seconds=_number(pick("retry_max_seconds"), 300.0, low=0.0, high=86400.0),
        lookback_days=_integer(pick("lookback_days"), 2, low=0, high=365),
        default_source=_choice(pick("source"), "auto", SOURCES),
        stream_sources=MappingProxyType(stream_sources),
        streams=_streams(streams_value),
        log_format=_choice(pick("log_format"), "auto", LOG_FORMATS),
        raw_landing=_boolean(pick("raw_landing"), True),
        config_path=path,
    )


def _read_file(config_path: Path | None, environ: Mapping[str, str]) -> tuple[Path | None, dict[str, Any]]:
    explicit = config_path is not None or environ.get("ZOOM_ETL_CONFIG", "") != ""
    path = config_path or Path(environ.get("ZOOM_ETL_CONFIG", "") or DEFAULT_CONFIG_FILE)
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file {path}: not found")
        return None, {}
    try:
        with path.open("rb") as handle:
            return path, tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot be read: {exc.strerror}") from None


def _accounts(
    flags: Mapping[str, object],
    environ: Mapping[str, str],
    file_data: Mapping[str, Any],
    file_label: str,
    require: bool,
) -> tuple[AccountSettings, ...]:
    tables = file_data.get("accounts", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ConfigError(f"accounts in {file_label}: must be [[accounts]] tables")
    file_accounts: list[dict[str, _Value]] = []
    for index, table in enumerate(tables):
        unknown = sorted(set(table) - _ACCOUNT_KEYS)
        if unknown:
            raise ConfigError(
                f"[[accounts]] #{index + 1} in {file_label}: unknown key(s): {', '.join(unknown)}"
            )
        file_accounts.append(
            {k: _Value(v, f"{k} of [[accounts]] #{index + 1} in {file_label}") for k, v in table.items()}
        )

    top: dict[str, _Value] = {}
    for key, env in _ACCOUNT_ENV.items():
        if key != "client_secret" and flags.get(key) is not None:
            top[key] = _Value(flags[key], _flag(key))
        elif environ.get(env, "") != "":
            top[key] = _Value(environ[env], f"{env} (environment)")
    defaults = {
        k: _Value(file_data[k], f"{k} in {file_label}")
        for k in ("api_url", "oauth_url", "plan")
        if k in file_data
    }

    if "account_id" in top:
        wanted = str(top["account_id"].raw)
        base = next(
            (a for a in file_accounts if str(a.get("account_id", _Value("", "")).raw) == wanted), None
        )
        if base is None and len(file_accounts) == 1 and "account_id" not in file_accounts[0]:
            base = file_accounts[0]
        chosen = [{**defaults, **(base or {}), **top}]
    elif top.keys() & {"client_id", "client_secret"}:
        if len(file_accounts) > 1:
            origin = next(v.origin for k, v in top.items() if k in ("client_id", "client_secret"))
            raise ConfigError(
                f"{origin}: ambiguous with {len(file_accounts)} accounts in {file_label}; "
                "set ZOOM_ACCOUNT_ID (or --account-id) to pick one"
            )
        chosen = [{**defaults, **(file_accounts[0] if file_accounts else {}), **top}]
    else:
        chosen = [{**defaults, **account, **top} for account in file_accounts]

    if not chosen:
        if require:
            raise ConfigError(
                "no Zoom account configured: set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, "
                f"or add [[accounts]] tables to {file_label}"
            )
        return ()
    accounts = tuple(_account(values) for values in chosen)
    seen: set[str] = set()
    for account in accounts:
        if account.account_id in seen:
            raise ConfigError(f"account_id in {file_label}: account {account.account_id!r} is listed twice")
        seen.add(account.account_id)
    return accounts


def _account(values: Mapping[str, _Value]) -> AccountSettings:
    def required(key: str) -> str:
        value = values.get(key)
        if value is None:
            raise ConfigError(
                f"{_ACCOUNT_ENV[key]} (environment) or {key} in the config file: required, not set"
            )
        if not isinstance(value.raw, str) or not value.raw.strip():
            raise _fail(value, "must be a non-empty string")
        return value.raw.strip()

    return AccountSettings(
        account_id=required("account_id"),
        client_id=required("client_id"),
        client_secret=Secret(required("client_secret")),
        api_url=_url(values.get("api_url"), DEFAULT_API_URL),
        oauth_url=_url(values.get("oauth_url"), DEFAULT_OAUTH_URL),
        plan=_choice(values.get("plan"), "pro", PLANS),
    )


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: the only hosts plain http:// may reach."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str | None:
    """The reason ``url`` may not carry credentials or tokens, or None when it may."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an https:// URL"
    if parts.username or parts.password:
        return "must not contain user info"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return f"plain http:// is refused except on loopback (host {parts.hostname!r}); use https://"
    return None


def _url(value: _Value | None, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value.raw, str):
        raise _fail(value, "must be a URL string")
    url = value.raw.strip().rstrip("/")
    problem = check_url(url)
    if problem:
        raise _fail(value, problem)
    return url


def _choice(value: _Value | None, default: str, allowed: Sequence[str]) -> str:
    if value is None:
        return default
    raw = str(value.raw).strip().lower()
    if raw not in allowed:
        raise _fail(value, f"must be one of {', '.join(allowed)}, got {str(value.raw)!r}")
    return raw


def _number(
    value: _Value | None, default: float, *, low: float, high: float, low_open: bool = False
) -> float:
    if value is None:
        return default
    try:
        if isinstance(value.raw, bool):
            raise ValueError
        number = float(value.raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _fail(value, f"must be a number, got {value.raw!r}") from None
    if number != number or number > high or number < low or (low_open and number == low):
        bracket = "(" if low_open else "["
        raise _fail(value, f"must be in {bracket}{low:g}, {high:g}], got {number:g}")
    return number


def _integer(value: _Value | None, default: int, *, low: int, high: int | None = None) -> int:
    if value is None:
        return default
    raw = value.raw
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise _fail(value, f"must be an integer, got {raw!r}")
    try:
        number = int(raw)
    except ValueError:
        raise _fail(value, f"must be an integer, got {raw!r}") from None
    if number < low or (high is not None and number > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _fail(value, f"must be {limit}, got {number}")
    return number


def _boolean(value: _Value | None, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value.raw, bool):
        return value.raw
    text = str(value.raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise _fail(value, f"must be true or false, got {value.raw!r}")


def _path(value: _Value | None) -> Path | None:
    if value is None:
        return None
    if not isinstance(value.raw, str | os.PathLike) or not str(value.raw).strip():
        raise _fail(value, "must be a file path")
    return Path(str(value.raw)).expanduser()


def _streams(value: _Value | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    raw = value.raw
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, Sequence) or isinstance(items, bytes):
        raise _fail(value, "must be a comma-separated list of stream names")
    names = tuple(str(item).strip() for item in items if str(item).strip())
    for name in names:
        if not _STREAM_NAME.match(name):
            raise _fail(value, f"invalid stream name {name!r}")
    if not names:
        raise _fail(value, "must name at least one stream")
    return names


def _timeouts(flag: _Value | None, table: object, file_label: str) -> Timeouts:
    values: dict[str, float] = {}
    if table is not None:
        if not isinstance(table, dict):
            raise ConfigError(f"timeouts in {file_label}: must be a table")
        for key, raw in table.items():
            if key not in Timeouts.__dataclass_fields__:
                raise ConfigError(f"timeouts in {file_label}: unknown key {key!r}")
            values[key] = _number(
                _Value(raw, f"timeouts.{key} in {file_label}"), 0, low=0.0, high=3600.0, low_open=True
            )
    if flag is not None:  # one number sets them all (flag or ZOOM_ETL_TIMEOUT)
        seconds = _number(flag, 0, low=0.0, high=3600.0, low_open=True)
        values = dict.fromkeys(Timeouts.__dataclass_fields__, seconds)
    return Timeouts(**values)


def _stream_sources(flag: object, table: object, file_label: str) -> dict[str, str]:
    sources: dict[str, str] = {}
    if table is not None and not isinstance(table, list):
        if not isinstance(table, dict):
            raise ConfigError(f"streams in {file_label}: must be [streams.<name>] tables")
        for name, options in table.items():
            origin = f"[streams.{name}] in {file_label}"
            if not _STREAM_NAME.match(name) or not isinstance(options, dict):
                raise ConfigError(f"{origin}: must be a table named after a stream")
            unknown = sorted(set(options) - {"source"})
            if unknown:
                raise ConfigError(f"{origin}: unknown key(s): {', '.join(unknown)}")
            if "source" in options:
                sources[name] = _choice(_Value(options["source"], f"source of {origin}"), "auto", SOURCES)
    if flag is not None:
        pairs: list[tuple[str, object]]
        if isinstance(flag, Mapping):
            pairs = list(flag.items())
        elif isinstance(flag, str | Sequence):
            items = flag.split(",") if isinstance(flag, str) else flag
            pairs = []
            for item in items:
                name, sep, choice = str(item).partition("=")
                if not sep:
                    raise ConfigError(f"--sources (flag): expected STREAM=SOURCE, got {str(item)!r}")
                pairs.append((name.strip(), choice.strip()))
        else:
            raise ConfigError("--sources (flag): expected STREAM=SOURCE pairs")
        for name, raw in pairs:
            value = _Value(raw, f"--sources (flag) for {name}")
            if not _STREAM_NAME.match(str(name)):
                raise _fail(value, f"invalid stream name {name!r}")
            sources[str(name)] = _choice(value, "auto", SOURCES)
    return sources
