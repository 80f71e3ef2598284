"""``zoom-etl simulator serve``: the built-in Zoom simulator as a standalone loopback server.

For trying SQL, dashboards or the sync against something that behaves like Zoom without an account. It
prints the base URL and the settings to export; the client secret is shown only when it is the simulator's
public built-in default (a secret you chose is never echoed).
"""

from __future__ import annotations

import os
from datetime import datetime

import click

from etl.cli.common import clock_start_option, utc
from etl.simulator.app import SimulatorConfig
from etl.simulator.server import RunningSimulator, serve

PUBLIC_DEFAULT_SECRET = SimulatorConfig().client_secret


@click.group()
def simulator() -> None:
    """The built-in Zoom simulator (OAuth, REST v2, GraphQL) on loopback."""


@simulator.command("serve")
@click.option("--profile", default="demo", show_default=True, help="Account size: tiny, demo, bench, large.")
@click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port."
)
@click.option("--seed", default=42, show_default=True, type=int)
@clock_start_option
@click.option(
    "--plan",
    default="pro",
    show_default=True,
    type=click.Choice(["free", "pro", "business", "enterprise"]),
    help="Sets the rate limits (and GraphQL / dashboard availability).",
)
@click.option("--latency-ms", default=0.0, show_default=True, type=click.FloatRange(min=0))
@click.option("--jitter-ms", default=0.0, show_default=True, type=click.FloatRange(min=0))
@click.option("--rate-scale", default=1.0, show_default=True, type=float, help="Multiplies every rate limit.")
@click.option("--no-rate-limits", is_flag=True, help="Never answer 429.")
@click.option("--no-graphql", is_flag=True, help="Serve REST only (/v3/graphql answers 404).")
@click.option(
    "--advance-days",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 36500),
    help="Move the clock first.",
)
@click.option(
    "--webhook-url",
    default=None,
    help="POST Zoom's webhooks here (signed with $ZOOM_WEBHOOK_SECRET_TOKEN) whenever the clock advances.",
)
@click.option("--client-id", default="sim-client", show_default=True)
@click.option(
    "--client-secret", envvar="ZOOM_SIM_CLIENT_SECRET", default=PUBLIC_DEFAULT_SECRET, show_default=False
)
def serve_command(
    profile: str,
    port: int,
    seed: int,
    clock_start: datetime | None,
    plan: str,
    latency_ms: float,
    jitter_ms: float,
    rate_scale: float,
    no_rate_limits: bool,
    no_graphql: bool,
    advance_days: float,
    webhook_url: str | None,
    client_id: str,
    client_secret: str,
) -> None:
    """Serve a simulated Zoom account until Ctrl-C."""
    config = SimulatorConfig(
        profile=profile,
        seed=seed,
        epoch=utc(clock_start),
        plan=plan,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
        rate_scale=rate_scale,
        rate_limits=not no_rate_limits,
        graphql=not no_graphql,
        client_id=client_id,
        client_secret=client_secret,
        port=port,
    )

    secret = os.environ.get("ZOOM_WEBHOOK_SECRET_TOKEN", "")
    if webhook_url and not secret:
        raise click.UsageError("--webhook-url: set ZOOM_WEBHOOK_SECRET_TOKEN (the secret that signs them)")

    def ready(running: RunningSimulator) -> None:
        if webhook_url:
            running.send_webhooks(webhook_url, secret)
            click.echo(f"  webhooks: POSTed to {webhook_url} as the clock advances (POST /_sim/clock)")
        if advance_days:
            running.advance(days=advance_days)
        creds = running.credentials
        shown = (
            creds["client_secret"]
            if creds["client_secret"] == PUBLIC_DEFAULT_SECRET
            else "<the secret you set>"
        )
        click.echo(f"Zoom simulator ({profile}, seed {seed}, {plan} plan) at {running.base_url}")
        click.echo(
            f"  simulated now: {running.clock.now().isoformat()}   control: {running.base_url}/_sim/stats"
        )
        click.echo(f"export ZOOM_API_URL={running.base_url}")
        click.echo(f"export ZOOM_OAUTH_URL={running.oauth_url}")
        click.echo(f"export ZOOM_ACCOUNT_ID={creds['account_id']}")
        click.echo(f"export ZOOM_CLIENT_ID={creds['client_id']}")
        click.echo(f"export ZOOM_CLIENT_SECRET={shown}")
        click.echo(f"export ZOOM_PLAN={plan}")

    try:
        serve(config, ready=ready)
    except OverflowError as exc:  # a clock start beyond the calendar
        raise click.UsageError(f"--clock-start: {exc}") from exc
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
