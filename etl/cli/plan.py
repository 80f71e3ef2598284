"""``sync --dry-run`` for a person at a terminal: the plan per account as text (JSON off a terminal)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from etl.extract.plan import Plan


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def print_plans(plans: Sequence[Plan]) -> None:
    for plan in plans:
        users = "users not counted" if plan.users is None else f"{plan.users:,} users"
        click.echo(f"account {plan.account_id} ({plan.plan} plan, {users})")
        click.echo(f"  {'stream':<24} {'source':<8} {'calls':>8}  range")
        for stream in plan.streams:
            calls = sum(stream.calls.values())
            windows = f"; {len(stream.windows)} windows" if stream.windows else ""
            click.echo(
                f"  {stream.stream:<24} {stream.source:<8} {calls:>8,}  {stream.range_reason or '-'}{windows}"
            )
            if stream.unknown:
                click.echo(f"  {'':<24} {'':<8} {'':>8}  not counted: {stream.unknown}")
        listed = ", ".join(f"{k} {v:,}" for k, v in sorted(plan.calls.items()))
        click.echo(f"  requests: {listed or 'none'}")
        click.echo(f"  time at the rate limits: {_duration(plan.wall_seconds)}")
        if plan.http:
            click.echo(f"  (the plan itself sent {plan.http})")
