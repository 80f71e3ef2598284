"""The ``[webhooks]`` settings: Zoom's secret token, the spool, the receiver's limits, reconciliation.

Each comes from the environment first, then the ``[webhooks]`` table of the config file, then defaults:

| key | environment | default |
|---|---|---|
| ``secret_token`` | ``ZOOM_WEBHOOK_SECRET_TOKEN`` | none (``webhooks serve`` refuses to start) |
| ``spool`` | ``ZOOM_ETL_WEBHOOK_SPOOL`` | ``<warehouse stem>.events/`` beside the warehouse |
| ``tolerance`` | ``ZOOM_ETL_WEBHOOK_TOLERANCE`` | ``5min``: how far a delivery's timestamp may be from now |
| ``max_body_kb`` | ``ZOOM_ETL_WEBHOOK_MAX_BODY_KB`` | 1024 |
| ``reconcile_every`` | ``ZOOM_ETL_RECONCILE_EVERY`` | ``24h``: ``sync --events`` polls all when older |
| ``pending_hours`` | | 48: how long a ``meeting.ended`` waits for Zoom's report |

Durations are a number and a unit (``90s``, ``30min``, ``2h``, ``1d``). Like the client secret, the secret
token is only checked to be a non-empty string and is held in ``Secret``: never shown, never logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from etl.config.model import Secret, WebhookSettings
from etl.config.values import Value, fail, parse_number, parse_path
from etl.errors import ConfigError

KEYS = ("secret_token", "spool", "tolerance", "max_body_kb", "reconcile_every", "pending_hours")
ENV = {
    "secret_token": "ZOOM_WEBHOOK_SECRET_TOKEN",
    "spool": "ZOOM_ETL_WEBHOOK_SPOOL",
    "tolerance": "ZOOM_ETL_WEBHOOK_TOLERANCE",
    "max_body_kb": "ZOOM_ETL_WEBHOOK_MAX_BODY_KB",
    "reconcile_every": "ZOOM_ETL_RECONCILE_EVERY",
}
_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|min|m|h|d)?\s*$")


def parse_duration(value: Value | None, default: float) -> float:
    """Seconds from ``90s``, ``30min``, ``2h``, ``1d`` or a bare number of seconds."""
    if value is None:
        return default
    match = _DURATION.match(str(value.raw)) if not isinstance(value.raw, bool) else None
    if match is None:
        raise fail(value, f"must be a duration such as 90s, 30min, 2h or 1d, got {value.raw!r}")
    return float(match.group(1)) * _UNITS[match.group(2) or "s"]


def parse_webhooks(table: object, environ: Mapping[str, str], file_label: str) -> WebhookSettings:
    if table is None:
        table = {}
    if not isinstance(table, dict):
        raise ConfigError(f"webhooks in {file_label}: must be a [webhooks] table")
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(f"[webhooks] in {file_label}: unknown key(s): {', '.join(unknown)}")

    def pick(key: str) -> Value | None:
        env = ENV.get(key)
        if env and environ.get(env, "") != "":
            return Value(environ[env], f"{env} (environment)")
        if key in table:
            return Value(table[key], f"{key} of [webhooks] in {file_label}")
        return None

    secret: Secret | None = None
    raw_secret = pick("secret_token")
    if raw_secret is not None:
        if not isinstance(raw_secret.raw, str) or not raw_secret.raw.strip():
            raise fail(raw_secret, "must be a non-empty string")
        secret = Secret(raw_secret.raw.strip())
    kb = parse_number(pick("max_body_kb"), 1024, low=1, high=1024 * 1024)
    return WebhookSettings(
        secret_token=secret,
        spool=parse_path(pick("spool")),
        tolerance_seconds=parse_duration(pick("tolerance"), 300.0),
        max_body_bytes=int(kb * 1024),
        reconcile_every_seconds=parse_duration(pick("reconcile_every"), 86400.0),
        pending_hours=parse_number(pick("pending_hours"), 48.0, low=0, high=24 * 365),
    )
