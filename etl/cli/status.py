"""``status`` and ``streams``: what the syncs left behind, and what they fetch."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from etl.cli.common import config_option, emit_json, settings_from, warehouse_option
from etl.errors import EXIT_FAILED
from etl.humanize import age, duration, parse_duration
from etl.output import aligned

EXIT_CHECK_FAILED = EXIT_FAILED  # status --check found a problem


def _max_age(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--runs", type=click.IntRange(min=1), default=5, show_default=True, help="How many recent runs to show."
)
@click.option(
    "--check",
    is_flag=True,
    help="Alert: exit 1 with one line per problem (a stale stream, a failed last run, rejects, skips or"
    " gaps that grew), else exit 0 and print ok.",
)
@click.option(
    "--max-age",
    default="1d",
    show_default=True,
    callback=_max_age,
    help="With --check: a stream whose last finished sync is older than this is stale (90s, 30min, 2h, 1d).",
)
@config_option
@warehouse_option
def status_command(
    as_json: bool,
    runs: int,
    check: bool,
    max_age: float,
    config_path: Path | None,
    warehouse: Path | None,
) -> None:
    """Last runs, per-stream source and watermark, freshness, row counts, outstanding gaps, errors.

    With --check, whether all is well, for cron, systemd and monitoring (exit 1 if not).
    """
    settings = settings_from({"warehouse": warehouse}, config_path, require_accounts=False)
    if check:
        _check(settings.warehouse, max_age, as_json)
        return
    from etl.status import read_status

    status = read_status(settings.warehouse, runs=runs)
    if as_json:
        emit_json(status.to_json())
        return
    now = datetime.now(UTC)
    click.echo(f"warehouse     {status.warehouse}")
    click.echo(f"readers open  {status.read_path}")
    if status.running:
        _print_running(status.running)
    click.echo("\nlast runs:")
    rows = [
        [
            run["run_id"],
            age(_seconds_since(run["ended_at"], now)) if run["ended_at"] else "-",
            run["status"],
            str(run["exit_code"] if run["exit_code"] is not None else "-"),
            f"{sum(run['rows_by_table'].values()):,}",
            f"{sum(run['requests_by_category'].values()):,}",
            str(run["skips"]),
            str(run["rejects"]),
        ]
        for run in status.runs
    ]
    headers = ["run", "ended", "status", "exit", "rows", "requests", "skips", "rejects"]
    _echo(aligned(headers, rows, [False, False, False, True, True, True, True, True], indent="  "))
    failed = [a for a in (status.runs[0]["accounts"] if status.runs else []) if a["status"] == "failed"]
    if failed:
        click.echo(f"\naccounts that failed in the last run ({len(failed)}):")
        for account in failed:
            click.echo(f"  {account['account_id']}: {account['error']}")
    click.echo("\nstreams (synced: when a sync last committed its state):")
    rows = [
        [
            s.stream,
            s.account_id,
            s.source or "-",
            s.watermark or "-",
            age(s.age_hours * 3600 if s.age_hours is not None else None),
        ]
        for s in status.streams
    ]
    _echo(aligned(["stream", "account", "source", "watermark", "synced"], rows, [False] * 5, indent="  "))
    click.echo("\ntables:")
    rows = [[table, f"{count:,}"] for table, count in status.tables.items()]
    _echo(aligned(["table", "rows"], rows, [False, True], indent="  "))
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


def _seconds_since(when: datetime, now: datetime) -> float:
    return (now - when).total_seconds()


def _echo(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


def _check(warehouse: Path, max_age: float, as_json: bool) -> None:
    """One line per problem and exit 1, or "ok" and exit 0 (``etl.alerts``)."""
    from etl.alerts import check

    problems = check(warehouse, max_age_seconds=max_age)
    if as_json:
        emit_json({"ok": not problems, "problems": [p.to_json() for p in problems]})
    elif problems:
        for problem in problems:
            click.echo(problem.message)
    else:
        click.echo(f"ok: every stream synced within {duration(max_age)}; the last run did not fail")
    if problems:
        sys.exit(EXIT_CHECK_FAILED)


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
    """What is synced, from which source (GraphQL first, then REST), with which rate-limit categories, and
    the OAuth scopes each needs (any one of those listed; GraphQL needs the scopes of the REST endpoint it
    stands for)."""
    from etl.doctor import SCOPES
    from etl.streams import STREAMS

    rows: list[dict[str, Any]] = []
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
                "scopes": list(SCOPES[stream.rest[0].path]),
                "scopes_by_endpoint": {e.path: list(SCOPES[e.path]) for e in stream.endpoints},
            }
        )
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        parent = f", per {row['parent']}" if row["parent"] else ""
        click.echo(f"{row['stream']} (tables {', '.join(row['tables'])}{parent})")
        click.echo(f"    scopes: {' or '.join(row['scopes'])}")
        for source in row["sources"]:
            click.echo(f"    {source}")
        extra = {
            path: scopes for path, scopes in row["scopes_by_endpoint"].items() if scopes != row["scopes"]
        }
        for path, scopes in extra.items():
            click.echo(f"    (GET {path} needs {' or '.join(scopes)})")
