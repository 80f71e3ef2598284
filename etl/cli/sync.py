"""``sync``, ``rebuild``, ``status`` and ``streams``: the cron job and what it leaves behind."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path

import click
import orjson

from etl.cli.common import (
    config_option,
    emit_json,
    logging_options,
    on_terminal,
    settings_from,
    start_logging,
    warehouse_option,
)
from etl.cli.progress import sync_progress
from etl.errors import ConfigError, LockedError
from etl.pipeline import SyncOptions, SyncResult, plan_sync, sync
from etl.status import read_status
from etl.streams import STREAMS


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


def _print_result(result: SyncResult) -> None:
    if not on_terminal():
        emit_json(result.as_dict())
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


@click.command("sync")
@click.option("--streams", "streams", multiple=True, help="Streams to sync (comma-separated; default all).")
@click.option("--since", help="Backfill from this date (YYYY-MM-DD), in month windows, resumable.")
@click.option("--full-refresh", is_flag=True, help="Ignore watermarks; re-read everything Zoom still has.")
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
@config_option
@warehouse_option
@logging_options
def sync_command(
    streams: tuple[str, ...],
    since: str | None,
    full_refresh: bool,
    dry_run: bool,
    source: str | None,
    rate_share: float | None,
    no_raw: bool,
    batch_rows: int,
    wait: float,
    config_path: Path | None,
    warehouse: Path | None,
    log_format: str | None,
    verbose: bool,
) -> None:
    """Sync Zoom into the warehouse: incremental from the last watermark, GraphQL first."""
    flags = {
        "warehouse": warehouse,
        "source": source,
        "rate_share": rate_share,
        "raw_landing": False if no_raw else None,
        "log_format": log_format,
    }
    settings = settings_from(flags, config_path)
    start_logging(settings, log_format, verbose)
    options = SyncOptions(
        streams=_streams(streams),
        since=_since(since),
        full_refresh=full_refresh,
        batch_rows=batch_rows,
        wait=wait,
    )
    if dry_run:
        plans = plan_sync(settings, options)
        emit_json([p.as_dict() for p in plans])
        return
    try:
        with sync_progress() as progress:
            result = sync(settings, options, progress=progress)
    except LockedError as exc:
        _print_locked(settings.warehouse, exc)
        sys.exit(exc.exit_code)
    _print_result(result)
    sys.exit(result.exit_code)


def _print_locked(warehouse: Path, exc: LockedError) -> None:
    """A run refused for the lock leaves a record like any other: one JSON line for cron (stdout off a
    terminal), one line for a person."""
    click.echo(f"zoom-etl: not run: {exc}", err=True)
    if on_terminal():
        return
    record = {
        "status": "locked",
        "exit_code": exc.exit_code,
        "at": datetime.now(UTC).isoformat(),
        "warehouse": str(warehouse),
        "error": str(exc),
    }
    click.echo(orjson.dumps(record).decode())


@click.command("rebuild")
@click.option("--tables", multiple=True, help="Tables to rebuild (comma-separated; default all).")
@config_option
@warehouse_option
def rebuild_command(tables: tuple[str, ...], config_path: Path | None, warehouse: Path | None) -> None:
    """Rebuild the core tables from the raw payloads, without calling Zoom."""
    from etl import analytics
    from etl.warehouse.connection import Warehouse
    from etl.warehouse.rebuild import rebuild

    settings = settings_from({"warehouse": warehouse}, config_path, require_accounts=False)
    if not settings.warehouse.exists():
        raise ConfigError(f"warehouse {settings.warehouse} does not exist")
    with Warehouse.open(settings.warehouse, publish=True) as wh:
        rows = rebuild(wh, _streams(tables))
        analytics.apply(wh.conn)
    for table, count in sorted(rows.items()):
        click.echo(f"{table:<24} {count:>10,} rows")


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--runs", type=click.IntRange(min=1), default=5, show_default=True, help="How many recent runs to show."
)
@config_option
@warehouse_option
def status_command(as_json: bool, runs: int, config_path: Path | None, warehouse: Path | None) -> None:
    """Last runs, per-stream source and watermark, freshness, row counts, outstanding gaps, errors."""
    settings = settings_from({"warehouse": warehouse}, config_path, require_accounts=False)
    status = read_status(settings.warehouse, runs=runs)
    if as_json:
        emit_json(status.to_json())
        return
    click.echo(f"warehouse {status.warehouse}; readers open {status.read_path}")
    if status.running:
        _print_running(status.running)
    click.echo("\nlast runs:")
    for run in status.runs:
        total = sum(run["rows_by_table"].values())
        requests = sum(run["requests_by_category"].values())
        click.echo(
            f"  {run['run_id']}  {run['status']:<11} exit {run['exit_code']}  rows {total:,}  "
            f"requests {requests:,}  skips {run['skips']}  rejects {run['rejects']}"
        )
    click.echo("\nstreams:")
    for s in status.streams:
        age = f"{s.age_hours:.1f}h ago" if s.age_hours is not None else "never"
        click.echo(
            f"  {s.stream:<22} {s.account_id:<16} {s.source or '-':<8} watermark {s.watermark or '-'}  {age}"
        )
    click.echo("\ntables:")
    for table, count in status.tables.items():
        click.echo(f"  {table:<24} {count:>10,}")
    if status.gaps:
        click.echo("\noutstanding gaps (fetched again by the next runs; until then a run is partial):")
        for gap in status.gaps:
            days = f" days {gap['first_day']}..{gap['last_day']}" if gap["first_day"] else ""
            click.echo(
                f"  {gap['stream']:<22} {gap['account_id']:<16} {gap['gaps']:>5} gaps{days}: {gap['reason']}"
            )
    if status.recent_skips:
        click.echo("\nskipped in the last run:")
        for skip in status.recent_skips:
            click.echo(f"  {skip['stream']} {skip['resource']}: {skip['reason']}")


def _print_running(running: dict[str, object]) -> None:
    rows: dict[str, int] = running.get("rows_by_table") or {}  # type: ignore[assignment]
    requests: dict[str, int] = running.get("requests_by_category") or {}  # type: ignore[assignment]
    started: list[str] = list(running.get("sources") or {})  # type: ignore[call-overload]
    click.echo(
        f"\nrunning: {running['run_id']} (pid {running['pid']}) since {running['started_at']}:"
        f" {sum(rows.values()):,} rows committed, {sum(requests.values()):,} requests,"
        f" {len(started)} of {len(running.get('streams') or [])} streams started"  # type: ignore[arg-type]
    )


@click.command("streams")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def streams_command(as_json: bool) -> None:
    """What is synced, from which source (GraphQL first, then REST), with which rate-limit categories."""
    rows: list[dict[str, object]] = []
    for stream in STREAMS:
        sources: list[str] = []
        if stream.graphql is not None:
            sources.append(f"graphql:{stream.graphql.name} ({stream.graphql.category})")
        sources.extend(f"rest:GET {e.path} ({e.category})" for e in stream.endpoints)
        rows.append(
            {
                "stream": stream.name,
                "tables": list(stream.tables),
                "parent": stream.parent,
                "sources": sources,
            }
        )
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        parent = f", per {row['parent']}" if row["parent"] else ""
        click.echo(f"{row['stream']} (tables {', '.join(row['tables'])}{parent})")  # type: ignore[arg-type]
        for source in row["sources"]:  # type: ignore[attr-defined]
            click.echo(f"    {source}")
