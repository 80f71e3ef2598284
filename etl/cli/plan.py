"""``sync --dry-run`` for a person at a terminal: the plan per account as text (JSON off a terminal)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import click

from etl.humanize import duration
from etl.output import aligned

if TYPE_CHECKING:
    from etl.plan import Plan


def _range(low: int, high: int) -> str:
    return f"{low:,}" if low == high else f"{low:,}-{high:,}"


def _by_category(low: Mapping[str, int], high: Mapping[str, int]) -> str:
    return ", ".join(f"{c} {_range(low.get(c, 0), high.get(c, 0))}" for c in sorted(set(low) | set(high)))


def print_plans(plans: Sequence[Plan]) -> None:
    for plan in plans:
        users = "users not counted" if plan.users is None else f"{plan.users:,} users"
        click.echo(f"account {plan.account_id} ({plan.plan} plan, {users})")
        rows = []
        for stream in plan.streams:
            low, high = sum(stream.calls.values()), sum((stream.calls_high or stream.calls).values())
            windows = f"{len(stream.windows)} windows" if stream.windows else ""
            rows.append([stream.stream, stream.source, _range(low, high), stream.range_reason, windows])
        headers = ["stream", "source", "requests", "range", "windows"]
        for line in aligned(headers, rows, [False, False, True, False, False], indent="  "):
            click.echo(line)
        low, high = plan.requests
        click.echo(f"  requests: {_range(low, high)} ({_by_category(plan.calls, plan.calls_high)})")
        click.echo(
            f"  time: {plan.wall_seconds:,.0f}-{plan.wall_seconds_high:,.0f} s, about"
            f" {duration(plan.wall_seconds_high)} (the rate limits' bound, and that plus pacing)"
        )
        for stream in plan.streams:
            if stream.basis:
                click.echo(f"  {stream.stream}: {stream.basis}")
            elif stream.unknown:
                click.echo(f"  {stream.stream}: not counted: {stream.unknown}")
        if plan.http:
            click.echo(f"  the plan itself sent: {plan.http}")
