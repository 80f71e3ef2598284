"""``load_settings``: the settings, built once and passed down; nothing reads the environment later.

Each value comes from the first layer that has it: flags, then the environment, then the TOML file
(``zoom-etl.toml`` in the working directory, or the path given), then the defaults below. Every value
remembers where it came from, so a bad one is reported as ONE line naming the setting and its origin
(``ZOOM_PLAN (environment): must be one of free, pro, business, enterprise``), never with a secret's value.

Accounts. Flags and the environment describe at most one account (``ZOOM_ACCOUNT_ID``...); the file may
list several as ``[[accounts]]`` tables. An account id given by flag or environment selects that account
from the file (its credentials fill what flags and environment leave out); without one, every file account
is synced. ``api_url``, ``oauth_url`` and ``plan`` resolve per account: flag, environment, the account's
table, the file's top level, default. An account's table may name its own ``warehouse`` file; the ones
that do not share the top-level one. A warehouse given by flag or environment puts every account in it.

Secrets come only from the environment or the file: a ``client_secret`` flag is refused, because flags
end up in shell history and process listings. The secret is held in ``Secret``, whose repr and str are
``***``.

Rate share. Zoom's rate limits are per account and shared by every app on it, so by default we use 80%
of each per-second limit (``rate_share = 0.8``) and leave the rest to other apps; a backfill must not
starve the account's other integrations. ``heavy_daily_budget`` caps our Heavy + Resource-intensive calls
per UTC day (default: the plan's daily cap times ``rate_share``).
"""

from __future__ import annotations

import stat
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from etl.config.model import (
    DEFAULT_API_URL,
    DEFAULT_CONFIG_FILE,
    DEFAULT_OAUTH_URL,
    LOG_FORMATS,
    PLANS,
    SOURCES,
    AccountSettings,
    Secret,
    Settings,
)
from etl.config.values import (
    Value,
    fail,
    parse_boolean,
    parse_choice,
    parse_integer,
    parse_number,
    parse_path,
    parse_stream_sources,
    parse_streams,
    parse_timeouts,
    parse_url,
)
from etl.config.webhooks import parse_webhooks
from etl.errors import ConfigError

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
        "max_concurrent_accounts",
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
    "max_concurrent_accounts": "ZOOM_ETL_MAX_CONCURRENT_ACCOUNTS",
    "timeout": "ZOOM_ETL_TIMEOUT",
    "retry_attempts": "ZOOM_ETL_RETRY_ATTEMPTS",
    "max_response_mb": "ZOOM_ETL_MAX_RESPONSE_MB",
    "request_deadline": "ZOOM_ETL_REQUEST_DEADLINE",
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
_ACCOUNT_KEYS = frozenset(_ACCOUNT_ENV) | {"warehouse"}  # an account's own warehouse: file only
_FILE_KEYS = (
    frozenset(_SETTING_ENV)
    | {"accounts", "api_url", "oauth_url", "plan", "timeouts", "retry_max_seconds", "webhooks"}
) - {"timeout"}


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')} (flag)"


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

    def pick(name: str) -> Value | None:
        if flags.get(name) is not None:
            return Value(flags[name], _flag(name))
        env = _SETTING_ENV.get(name)
        if env and environ.get(env, "") != "":
            return Value(environ[env], f"{env} (environment)")
        if name in file_data:
            return Value(file_data[name], f"{name} in {file_label}")
        return None

    timeouts = parse_timeouts(pick("timeout"), file_data.get("timeouts"), file_label)
    stream_sources = parse_stream_sources(flags.get("sources"), file_data.get("streams"), file_label)
    streams_value = pick("streams")
    if isinstance(streams_value, Value) and isinstance(streams_value.raw, Mapping):
        streams_value = None  # the file's [streams.<name>] tables configure sources, not the selection
    budget = pick("heavy_daily_budget")
    accounts = _accounts(flags, environ, file_data, file_label, require_accounts)
    if flags.get("warehouse") is not None or environ.get(_SETTING_ENV["warehouse"], "") != "":
        # A warehouse given by flag or environment wins over the accounts' own (as api_url does): every
        # account goes into it.
        accounts = tuple(replace(a, warehouse=None) for a in accounts)
    return Settings(
        accounts=accounts,
        warehouse=parse_path(pick("warehouse")) or Path("zoom_etl.duckdb"),
        rate_share=parse_number(pick("rate_share"), 0.8, low=0.0, high=1.0, low_open=True),
        rate_scale=parse_number(pick("rate_scale"), 1.0, low=0.0, high=1e6, low_open=True),
        heavy_daily_budget=None if budget is None else parse_integer(budget, 0, low=0),
        max_concurrency=parse_integer(pick("max_concurrency"), 64, low=1, high=256),
        max_concurrent_accounts=parse_integer(pick("max_concurrent_accounts"), 8, low=1, high=1024),
        timeouts=timeouts,
        retry_attempts=parse_integer(pick("retry_attempts"), 6, low=1, high=50),
        retry_max_seconds=parse_number(pick("retry_max_seconds"), 300.0, low=0.0, high=86400.0),
        max_response_bytes=round(
            parse_number(pick("max_response_mb"), 64.0, low=0.0, high=4096.0, low_open=True) * 1024 * 1024
        ),
        request_deadline=parse_number(pick("request_deadline"), 300.0, low=0.0, high=86400.0, low_open=True),
        lookback_days=parse_integer(pick("lookback_days"), 2, low=0, high=365),
        default_source=parse_choice(pick("source"), "auto", SOURCES),
        stream_sources=MappingProxyType(stream_sources),
        streams=parse_streams(streams_value),
        log_format=parse_choice(pick("log_format"), "auto", LOG_FORMATS),
        raw_landing=parse_boolean(pick("raw_landing"), True),
        config_path=path,
        warnings=tuple(filter(None, [_exposed_secret(path, file_data)])),
        webhooks=parse_webhooks(file_data.get("webhooks"), environ, file_label),
    )


def _exposed_secret(path: Path | None, file_data: Mapping[str, Any]) -> str | None:
    """A warning when the config file holds a client secret and any user of the machine may read it."""
    tables = file_data.get("accounts", [])
    if path is None or not isinstance(tables, list):
        return None
    if not any(isinstance(t, dict) and "client_secret" in t for t in tables):
        return None
    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    if not mode & stat.S_IROTH:
        return None
    return (
        f"config file {path} holds a client_secret and every user of this machine can read it:"
        f" chmod 600 {path} (or set ZOOM_CLIENT_SECRET in the environment instead)"
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
    except UnicodeDecodeError as exc:  # TOML is UTF-8 text
        raise ConfigError(f"config file {path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
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
    file_accounts: list[dict[str, Value]] = []
    for index, table in enumerate(tables):
        unknown = sorted(set(table) - _ACCOUNT_KEYS)
        if unknown:
            raise ConfigError(
                f"[[accounts]] #{index + 1} in {file_label}: unknown key(s): {', '.join(unknown)}"
            )
        file_accounts.append(
            {k: Value(v, f"{k} of [[accounts]] #{index + 1} in {file_label}") for k, v in table.items()}
        )

    top: dict[str, Value] = {}
    for key, env in _ACCOUNT_ENV.items():
        if key != "client_secret" and flags.get(key) is not None:
            top[key] = Value(flags[key], _flag(key))
        elif environ.get(env, "") != "":
            top[key] = Value(environ[env], f"{env} (environment)")
    defaults = {
        k: Value(file_data[k], f"{k} in {file_label}")
        for k in ("api_url", "oauth_url", "plan")
        if k in file_data
    }

    if "account_id" in top:
        wanted = str(top["account_id"].raw)
        base = next((a for a in file_accounts if str(a.get("account_id", Value("", "")).raw) == wanted), None)
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


def _account(values: Mapping[str, Value]) -> AccountSettings:
    def required(key: str) -> str:
        value = values.get(key)
        if value is None:
            raise ConfigError(
                f"{_ACCOUNT_ENV[key]} (environment) or {key} in the config file: required, not set"
            )
        if not isinstance(value.raw, str) or not value.raw.strip():
            raise fail(value, "must be a non-empty string")
        return value.raw.strip()

    return AccountSettings(
        account_id=required("account_id"),
        client_id=required("client_id"),
        client_secret=Secret(required("client_secret")),
        api_url=parse_url(values.get("api_url"), DEFAULT_API_URL),
        oauth_url=parse_url(values.get("oauth_url"), DEFAULT_OAUTH_URL),
        plan=parse_choice(values.get("plan"), "pro", PLANS),
        warehouse=parse_path(values.get("warehouse")),
    )
