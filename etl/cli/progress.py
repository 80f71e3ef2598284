"""The running sync's progress on stderr: live bars per stream for people at a terminal, and for cron (stderr
not a terminal) one JSON line every few seconds, so a stuck sync can be told from a slow one.

A progress event (``"event": "progress"``) carries the seconds since the start, the streams done of the
total, rows committed, requests sent and 429s received so far (summed over the accounts, which run at
once), the accounts ended of the total and the ids of those that failed, and ``eta_seconds`` when it is
knowable: from the requests the last finished incremental run of the same streams sent (null until there
is one, and once this run has sent more than that).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

import orjson

if TYPE_CHECKING:
    from etl.pipeline import Progress, Snapshot

PROGRESS_SECONDS = 5.0


def progress_event(snapshot: Snapshot, elapsed: float, expected_requests: int | None) -> dict[str, Any]:
    """One progress event: plain data, one JSON line on stderr."""
    requests = sum(snapshot.requests.values())
    eta: float | None = None
    if expected_requests and 0 < requests < expected_requests:
        eta = round(elapsed * (expected_requests - requests) / requests, 1)
    return {
        "event": "progress",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_seconds": round(elapsed, 1),
        "account_id": snapshot.account_id,
        "streams_done": len(snapshot.streams_done),
        "streams_total": snapshot.streams_total,
        "rows": sum(snapshot.rows.values()),
        "requests": requests,
        "requests_by_category": dict(snapshot.requests),
        "throttled": snapshot.throttled,
        "eta_seconds": eta,
        "accounts_done": snapshot.accounts_done,
        "accounts_total": snapshot.accounts_total,
        "accounts_failed": list(snapshot.accounts_failed),
    }


@contextmanager
def sync_progress(
    streams: tuple[str, ...],
    *,
    every: float = PROGRESS_SECONDS,
    expected_requests: int | None = None,
    out: TextIO | None = None,
) -> Iterator[Progress | None]:
    """Yields a callback for ``pipeline.sync(progress=...)``: bars on a terminal, else JSON lines every
    ``every`` seconds (none when ``every`` is 0)."""
    out = out or sys.stderr
    if out.isatty():
        with _bars(streams, out) as update:
            yield update
    elif every > 0:
        with _events(every, expected_requests, out) as update:
            yield update
    else:
        yield None


@contextmanager
def _events(every: float, expected_requests: int | None, out: TextIO) -> Iterator[Progress]:
    """A thread writes the latest snapshot every ``every`` seconds, whether or not the sync moved since, and
    once more when the sync ends."""
    started = time.monotonic()
    latest: list[Snapshot] = []
    stop = threading.Event()

    def update(snapshot: Snapshot) -> None:
        latest[:] = [snapshot]

    def write() -> None:
        if latest:
            event = progress_event(latest[0], time.monotonic() - started, expected_requests)
            out.write(orjson.dumps(event).decode() + "\n")
            out.flush()

    def every_few_seconds() -> None:
        while not stop.wait(every):
            write()

    thread = threading.Thread(target=every_few_seconds, name="progress-events", daemon=True)
    thread.start()
    try:
        yield update
    finally:
        stop.set()
        thread.join()
        write()  # where the run ended: streams done, requests, 429s (the summary on stdout has the rest)


@contextmanager
def _bars(streams: tuple[str, ...], out: TextIO) -> Iterator[Progress]:
    """One bar per stream (pulsing until the stream has fetched everything, then full) with its rows, and a
    line of totals: requests, 429s."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from etl.streams import BY_NAME

    with Progress(
        TextColumn("{task.description:<24}"),
        BarColumn(bar_width=30),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=Console(file=out),
        transient=True,
    ) as bars:
        totals = bars.add_task("requests", total=None, detail="")
        tasks = {name: bars.add_task(name, total=None, detail="") for name in streams}

        def update(snapshot: Snapshot) -> None:
            done = {key.rsplit("/", 1)[1] for key in snapshot.streams_done}
            for name, task in tasks.items():
                rows = _rows_of(snapshot.rows, BY_NAME[name].tables)
                finished = name in done
                bars.update(
                    task,
                    total=1 if finished else None,
                    completed=1 if finished else 0,
                    detail=f"{rows:,} rows" + (" done" if finished else ""),
                )
            accounts = ""
            if snapshot.accounts_total > 1:
                failed = f" ({len(snapshot.accounts_failed)} failed)" * bool(snapshot.accounts_failed)
                accounts = f", {snapshot.accounts_done} of {snapshot.accounts_total} accounts done{failed}"
            bars.update(
                totals,
                detail=f"{sum(snapshot.requests.values()):,} requests, {snapshot.throttled} 429s,"
                f" {len(snapshot.streams_done)} of {snapshot.streams_total} streams done{accounts}",
            )

        yield update


def _rows_of(rows: Mapping[str, int], tables: tuple[str, ...]) -> int:
    return sum(rows.get(table, 0) for table in tables)
