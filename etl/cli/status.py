"""``status`` and ``streams``: what the syncs left behind, and what they fetch."""

from __future__ import annotations

from pathlib import Path

import click

from etl.cli.common import config_option, emit_json, settings_from, warehouse_option
from etl.status import read_status


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--runs", default=5, show_default=True, help="How many recent runs to show.")
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
            f"  {run['run_id']}  {run['status']:<8} exit {run['exit_code']}  rows {total:,}  "
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
    from etl.streams import STREAMS

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
