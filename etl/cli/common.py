"""Options and helpers shared by the commands: settings from flags/env/file, logging, output mode."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from etl.config import Settings, load_settings
from etl.logs import setup_logging

F = TypeVar("F", bound=Callable[..., Any])


def config_option(func: F) -> F:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="TOML settings file (default: $ZOOM_ETL_CONFIG, else ./zoom-etl.toml if present).",
    )(func)


def warehouse_option(func: F) -> F:
    return click.option(
        "--warehouse",
        type=click.Path(dir_okay=False, path_type=Path),
        help="DuckDB warehouse file (default: $ZOOM_ETL_WAREHOUSE, else ./zoom_etl.duckdb); readers open"
        " its read copy, <name>_read.duckdb.",
    )(func)


TIMESTAMP = click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d"])
"""An ISO instant on the command line (``2026-11-04``, ``2026-11-04T15:00``, ``...T15:00:00+01:00``)."""


def utc(value: datetime | None) -> datetime | None:
    """A command-line instant in UTC: one without an offset is taken as UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _clock_start(ctx: click.Context, param: click.Parameter, value: datetime | None) -> datetime | None:
    """The simulator builds years of history around its clock: keep it well inside the calendar."""
    if value is not None and not 1980 <= value.year <= 9000:
        raise click.BadParameter(f"{value:%Y-%m-%d} is outside the years 1980..9000")
    return value


def clock_start_option(func: F) -> F:
    return click.option(
        "--clock-start",
        type=TIMESTAMP,
        default=None,
        callback=_clock_start,
        help="Where the simulated clock starts (UTC unless an offset is given); default: 15:00 UTC of the"
        " current UTC day, so the account's history is always recent.",
    )(func)


def logging_options(func: F) -> F:
    func = click.option("-v", "--verbose", is_flag=True, help="Debug logging.")(func)
    return click.option(
        "--log-format",
        type=click.Choice(["auto", "text", "json"]),
        default=None,
        help="Logs on stderr: text on a terminal, JSON lines otherwise (auto).",
    )(func)


def settings_from(
    flags: dict[str, Any], config_path: Path | None, *, require_accounts: bool = True
) -> Settings:
    """Settings from the given flags (None = not given), the environment and the file."""
    given = {k: v for k, v in flags.items() if v is not None}
    settings = load_settings(given, os.environ, config_path, require_accounts=require_accounts)
    for warning in settings.warnings:  # before logging is set up (its format is a setting): plain stderr
        click.echo(f"warning: {warning}", err=True)
    return settings


def start_logging(settings: Settings, log_format: str | None, verbose: bool) -> None:
    secrets = [a.client_secret.reveal() for a in settings.accounts]
    if settings.webhooks.secret_token:  # the webhook secret token is redacted like the client secrets
        secrets.append(settings.webhooks.secret_token.reveal())
    setup_logging(log_format or settings.log_format, verbose=verbose, secrets=secrets)


def emit_json(data: Any) -> None:
    """Pretty JSON, for a person reading ``--json`` output."""
    click.echo(orjson.dumps(data, default=str, option=orjson.OPT_INDENT_2).decode())


def emit_line(data: Any) -> None:
    """One JSON line, for a program reading a run's record (a JSON-lines file cron appends to)."""
    click.echo(orjson.dumps(data, default=str).decode())


def on_terminal() -> bool:
    return sys.stdout.isatty()
