"""A progress line for people at a terminal; nothing at all for cron (stderr not a terminal)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from etl.pipeline import Progress as OnProgress


@contextmanager
def sync_progress() -> Iterator[OnProgress | None]:
    """Yields a callback for ``pipeline.sync(progress=...)`` on a terminal, else None."""
    if not sys.stderr.isatty():
        yield None
        return
    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("syncing", total=None)

        def update(account_id: str, rows: Mapping[str, int]) -> None:
            total = sum(rows.values())
            busiest = ", ".join(f"{t} {n:,}" for t, n in sorted(rows.items(), key=lambda kv: -kv[1])[:3])
            bar.update(task, description=f"account {account_id}: {total:,} rows loaded ({busiest})")

        yield update
