"""``zoom-etl demo``: the main job on the embedded default, end to end, with no credentials and no network.

Starts the built-in Zoom simulator on loopback (demo profile), runs a full sync into a fresh local
warehouse, advances the simulated clock by a day, runs an incremental sync, and prints what each sync
loaded and requested plus a sample report; then downloads the recordings' files beside the warehouse
(``demo_recordings/``) and reads their transcripts and chat into tables. Rate limits are the Pro plan's,
scaled by ``--rate-scale`` on both sides so the demo takes seconds, not the minutes a real Pro account's
Heavy limit would imply.
"""

from __future__ import annotations

import shutil
import sys
from datetime import datetime
from pathlib import Path

import click

from etl import analytics
from etl.cli.common import clock_start_option, emit_json, utc
from etl.config import Settings, load_settings
from etl.logs import setup_logging
from etl.output import write_table
from etl.pipeline import SyncOptions, SyncResult, sync
from etl.recordings.download import ZOOM_HOSTS, Options, download_all
from etl.simulator.app import SimulatorConfig
from etl.simulator.server import start
from etl.status import table_counts
from etl.visual import report as visual_report
from etl.warehouse.publish import read_path

SAMPLE_REPORT = "daily_meetings"


def _line(label: str, result: SyncResult) -> str:
    rows = sum(result.rows.values())
    requests = sum(result.requests_by_category.values())
    seconds = (result.ended_at - result.started_at).total_seconds()
    by_category = ", ".join(f"{k} {v}" for k, v in sorted(result.requests_by_category.items()))
    return f"{label}: {result.status}, {rows:,} rows, {requests:,} requests ({by_category}), {seconds:.1f}s"


def _recordings(settings: Settings, out: Path) -> str:
    """``recordings download`` of every synced recording (the simulator's second host name, standing for
    Zoom's file servers, allowed), as one line."""
    options = Options(out=out, allowed_hosts=(*ZOOM_HOSTS, "localhost"), min_free_bytes=0)
    r = download_all(settings, options)[0]
    return (
        f"recordings download: {r.complete:,} files, {r.bytes / 1e6:,.1f} MB into {out}; "
        f"{r.segments:,} transcript segments, {r.chat_messages:,} chat messages"
    )


@click.command("demo")
@click.option(
    "--warehouse",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("demo.duckdb"),
    show_default=True,
    help="Warehouse file for the demo (recreated on every run).",
)
@click.option("--profile", default="demo", show_default=True, help="Simulator account profile.")
@click.option("--seed", default=42, show_default=True, help="Simulator seed.")
@clock_start_option
@click.option("--rate-scale", default=20.0, show_default=True, help="Scale of the Pro plan's rate limits.")
@click.option("--latency-ms", default=20.0, show_default=True, help="Simulated latency per request.")
def demo(
    warehouse: Path,
    profile: str,
    seed: int,
    clock_start: datetime | None,
    rate_scale: float,
    latency_ms: float,
) -> None:
    """Sync the built-in Zoom simulator into a local warehouse, twice, and show a report.

    Also writes the visual report beside the warehouse (demo.duckdb: demo_report.html).
    """
    html = warehouse.with_name(warehouse.stem + "_report.html")
    for path in (warehouse, warehouse.with_name(warehouse.name + ".wal"), read_path(warehouse), html):
        path.unlink(missing_ok=True)
    export_dir = warehouse.with_suffix("")
    shutil.rmtree(export_dir, ignore_errors=True)
    recordings_dir = warehouse.with_name(warehouse.stem + "_recordings")
    shutil.rmtree(recordings_dir, ignore_errors=True)
    setup_logging("text" if sys.stderr.isatty() else "json")
    click.echo(f"starting the Zoom simulator (profile {profile}, seed {seed}) on loopback ...")
    try:  # a bad profile, rate scale or latency: one line, exit 2
        config = SimulatorConfig(
            profile=profile,
            seed=seed,
            epoch=utc(clock_start),
            plan="pro",
            rate_scale=rate_scale,
            latency_ms=latency_ms,
        )
        running = start(config)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    with running as simulator:
        creds = simulator.credentials
        environ = {"ZOOM_CLIENT_SECRET": creds["client_secret"]}
        flags = {
            "account_id": creds["account_id"],
            "client_id": creds["client_id"],
            "api_url": simulator.base_url,
            "oauth_url": simulator.oauth_url,
            "plan": "pro",
            "warehouse": warehouse,
            "rate_scale": rate_scale,
        }
        settings = load_settings(flags, environ, None)
        click.echo(f"simulated now: {simulator.clock.now():%Y-%m-%d %H:%M} UTC; warehouse: {warehouse}")
        full = sync(settings, SyncOptions())
        click.echo(_line("full sync       ", full))
        simulator.advance(days=1)
        click.echo(f"advanced the simulated clock one day, to {simulator.clock.now():%Y-%m-%d %H:%M} UTC")
        incremental = sync(settings, SyncOptions())
        click.echo(_line("incremental sync", incremental))
        click.echo(_recordings(settings, recordings_dir))
    full_requests = sum(full.requests_by_category.values()) or 1
    share = sum(incremental.requests_by_category.values()) / full_requests
    click.echo(f"the incremental sync cost {share:.1%} of the full sync's requests")
    click.echo("\nrows by table after both syncs:")
    with analytics.open_reader(warehouse) as conn:  # the read copy, as every reader sees it
        for table, count in sorted(table_counts(conn).items()):
            click.echo(f"  {table:<24} {count:>8,}")
        click.echo(f"\nreport {SAMPLE_REPORT} (last 7 days):")
        latest = analytics.run_sql(conn, f"SELECT * FROM analytics.{SAMPLE_REPORT} ORDER BY day DESC LIMIT 7")
        if latest is not None:
            write_table(latest, sys.stdout)
    visual_report.write(warehouse, html)
    click.echo(f"\nthe HTML report (charts, freshness, last runs; opens offline): {html}")
    click.echo(
        f'\ntry: zoom-etl sql --warehouse {warehouse} "SELECT * FROM analytics.user_engagement LIMIT 5"'
    )
    if not sys.stdout.isatty():
        emit_json({"full": full.as_dict(), "incremental": incremental.as_dict()})
    worst = max(full.exit_code, incremental.exit_code)
    sys.exit(worst if worst in (1, 2) else 0)
