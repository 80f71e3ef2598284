"""``sync`` and ``rebuild``: the cron job.

Off a terminal ``sync`` prints exactly one JSON line on stdout per run, whatever the outcome (ok, partial,
failed, locked, config_error), and JSON progress events on stderr; on a terminal, live bars and a summary.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from etl.cli.common import (
    config_option,
    emit_line,
    logging_options,
    on_terminal,
    settings_from,
    start_logging,
    warehouse_option,
)
from etl.cli.plan import print_plans
from etl.cli.progress import PROGRESS_SECONDS, sync_progress
from etl.errors import EXIT_FAILED, EXIT_USAGE, ConfigError, LockedError, ZoomEtlError

if TYPE_CHECKING:
    from etl.config import Settings
    from etl.pipeline import SyncResult


def _streams(value: tuple[str, ...]) -> tuple[str, ...] | None:
    names = tuple(n.strip() for v in value for n in v.split(",") if n.strip())
    return names or None


def _since(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--since {value!r} is not a date (YYYY-MM-DD)") from None


def _print_result(result: SyncResult, recordings: list[dict[str, Any]] | None = None) -> None:
    if not on_terminal():
        emit_line({**result.as_dict(), **({"recordings": recordings} if recordings is not None else {})})
        return
    seconds = (result.ended_at - result.started_at).total_seconds()
    click.echo(f"run {result.run_id}: {result.status} in {seconds:.1f}s (exit {result.exit_code})")
    for table, count in sorted(result.rows.items()):
        click.echo(f"  {table:<24} {count:>10,} rows")
    requests = ", ".join(f"{k} {v:,}" for k, v in sorted(result.requests_by_category.items()))
    click.echo(f"  requests: {requests or 'none'}; retries {result.retries}, 429s {result.throttled}")
    if result.sources:
        click.echo("  sources: " + ", ".join(f"{k}={v}" for k, v in sorted(result.sources.items())))
    if result.rejects or result.skips:
        click.echo(f"  rejects {result.rejects}, skipped resources {result.skips}: see `zoom-etl status`")
    if result.error:
        click.echo(f"  error: {result.error}")
    if len(result.accounts) > 1:
        click.echo(f"  accounts ({len(result.accounts)}):")
        for account in result.accounts:
            rows = sum(account["rows"].values())
            line = (
                f"    {account['account_id']:<24} {account['status']:<8} {rows:>10,} rows"
                f" {account['requests']:>8,} requests {account['seconds']:>8.1f}s"
            )
            click.echo(line + (f"  {account['error']}" if account["error"] else ""))
    for r in recordings or []:
        click.echo(
            f"  recordings: {r['complete']} downloaded, {r['already']} already there, {r['failed']} failed,"
            f" {r['processing']} processing; {r['segments']} transcript segments, {r['chat_messages']} chat"
        )


def _record(status: str, exit_code: int, error: str, **extra: object) -> None:
    """The one JSON line a run that never got to a result leaves on stdout off a terminal (cron appends
    stdout to a JSON-lines file: every run, whatever its outcome, is one line of it)."""
    if on_terminal():
        return
    record = {"status": status, "exit_code": exit_code, "at": datetime.now(UTC).isoformat(), **extra}
    emit_line({**record, "error": error})


class _SyncCommand(click.Command):
    """``sync`` leaves its one JSON line for the outcomes that end before a result too: bad usage or
    configuration (exit 2), a failure raised before the run could start, an unexpected crash."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as exc:
            _record("config_error", exc.exit_code, exc.format_message())
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ZoomEtlError as exc:
            status = "config_error" if exc.exit_code == EXIT_USAGE else "failed"
            _record(status, exc.exit_code, str(exc))
            raise
        except Exception as exc:
            _record("failed", EXIT_FAILED, f"{type(exc).__name__}: {exc}")
            raise


@click.command("sync", cls=_SyncCommand)
@click.option("--streams", "streams", multiple=True, help="Streams to sync (comma-separated; default all).")
@click.option("--since", help="Backfill from this date (YYYY-MM-DD), in month windows, resumable.")
@click.option("--full-refresh", is_flag=True, help="Ignore watermarks; re-read everything Zoom still has.")
@click.option(
    "--events",
    "events",
    is_flag=True,
    help="Fetch only what Zoom's spooled webhook events name (a full sync when reconcile_every is due).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan (streams, sources, windows, requests) only.")
@click.option("--source", type=click.Choice(["auto", "graphql", "rest"]), help="Source for every stream.")
@click.option("--rate-share", type=float, help="Share of the account's rate limits to use (0-1].")
@click.option("--no-raw", is_flag=True, help="Do not keep raw payloads (then `rebuild` cannot run).")
@click.option(
    "--batch-rows",
    type=click.IntRange(min=1),
    default=50_000,
    show_default=True,
    help="Rows per load transaction (memory is bounded by it).",
)
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Seconds to wait for the warehouse while another process holds it (default: exit 75 at once).",
)
@click.option(
    "--max-concurrent-accounts",
    type=click.IntRange(min=1, max=1024),
    help="Accounts synced at once, each within its own rate limits (default 8).",
)
@click.option(
    "--progress-every",
    type=click.FloatRange(min=0),
    default=PROGRESS_SECONDS,
    show_default=True,
    help="Off a terminal, a JSON progress event on stderr every SECONDS (0: none).",
)
@click.option(
    "--download-recordings",
    type=click.Path(file_okay=False, path_type=Path),
    help="After the sync, `recordings download --out DIR` (every file type; see README Recordings).",
)
@config_option
@warehouse_option
@logging_options
def sync_command(
    streams: tuple[str, ...],
    since: str | None,
    full_refresh: bool,
    events: bool,
    dry_run: bool,
    source: str | None,
    rate_share: float | None,
    no_raw: bool,
    batch_rows: int,
    wait: float,
    max_concurrent_accounts: int | None,
    progress_every: float,
    download_recordings: Path | None,
    config_path: Path | None,
    warehouse: Path | None,
    log_format: str | None,
    verbose: bool,
) -> None:
    """Sync Zoom into the warehouse: incremental from the last watermark, GraphQL first."""
    from etl.pipeline import SyncOptions, plan_sync, sync
    from etl.status import previous_requests
    from etl.streams import STREAMS

    flags = {
        "warehouse": warehouse,
        "source": source,
        "rate_share": rate_share,
        "raw_landing": False if no_raw else None,
        "log_format": log_format,
        "max_concurrent_accounts": max_concurrent_accounts,
    }
    settings = settings_from(flags, config_path)
    start_logging(settings, log_format, verbose)
    options = SyncOptions(
        streams=_streams(streams),
        since=_since(since),
        full_refresh=full_refresh,
        batch_rows=batch_rows,
        wait=wait,
        events=_events_mode(events, settings, streams, since, full_refresh),
    )
    if dry_run:
        plans = plan_sync(settings, options)
        if on_terminal():
            print_plans(plans)
        else:
            emit_line([p.as_dict() for p in plans])
        return
    names = options.streams or settings.streams or tuple(s.name for s in STREAMS)
    expected = previous_requests(settings.warehouse, names) if settings.warehouse.exists() else None
    try:
        with sync_progress(tuple(names), every=progress_every, expected_requests=expected) as progress:
            result = sync(settings, options, progress=progress)
    except LockedError as exc:
        _print_locked(settings.warehouse, exc)
        sys.exit(exc.exit_code)
    recordings = None
    exit_code = result.exit_code
    if download_recordings is not None and exit_code in (0, 3):
        from etl.cli.recordings import allowed_hosts
        from etl.recordings.download import Options, download_all

        wanted = Options(out=download_recordings, allowed_hosts=allowed_hosts())
        done = download_all(settings, wanted, wait=wait)
        recordings = [r.as_dict() for r in done]
        exit_code = 3 if any(r.failed for r in done) else exit_code
    _print_result(result, recordings)
    sys.exit(exit_code)


def _events_mode(
    asked: bool, settings: Settings, streams: tuple[str, ...], since: str | None, full_refresh: bool
) -> str:
    """``targeted`` for ``--events``; ``ingest`` for a plain sync of every stream when a spool exists
    (the cron sync records Zoom's events too); ``off`` otherwise."""
    if asked:
        if streams or since or full_refresh:
            raise ConfigError("--events: not with --streams, --since or --full-refresh")
        return "targeted"
    spool = settings.webhooks.spool_for(settings.warehouse)
    return "ingest" if spool.is_dir() and not (streams or since) else "off"


def _print_locked(warehouse: Path, exc: LockedError) -> None:
    """A run refused for the lock leaves a record like any other: one JSON line for cron (stdout off a
    terminal), one line for a person."""
    click.echo(f"zoom-etl: not run: {exc}", err=True)
    _record("locked", exc.exit_code, str(exc), warehouse=str(warehouse))


@click.command("rebuild")
@click.option("--tables", multiple=True, help="Tables to rebuild (comma-separated; default all).")
@config_option
@warehouse_option
def rebuild_command(tables: tuple[str, ...], config_path: Path | None, warehouse: Path | None) -> None:
    """Rebuild the core tables from the raw payloads, without calling Zoom."""
    from etl import analytics
    from etl.rebuild import rebuild
    from etl.warehouse.connection import Warehouse

    settings = settings_from({"warehouse": warehouse}, config_path, require_accounts=False)
    if not settings.warehouse.exists():
        raise ConfigError(f"warehouse {settings.warehouse} does not exist")
    with Warehouse.open(settings.warehouse, publish=True) as wh:
        rows = rebuild(wh, _streams(tables))
        analytics.apply(wh.conn)
    for table, count in sorted(rows.items()):
        click.echo(f"{table:<24} {count:>10,} rows")
