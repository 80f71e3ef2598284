"""``zoom-etl recordings download --out DIR``: the synced recordings' files on disk, transcripts and chat
as rows (``etl.recordings``).

Prints one JSON summary per account on stdout. Exit codes: 0 every wanted file complete (or still
processing at Zoom, tried again next run); 3 some files failed or stayed partial (``zoom.recording_downloads``
says which and why; a rerun resumes them); 2 usage; 1 not enough free disk, or a failure that stopped the
run (refused credentials); 75 another process holds the warehouse.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import date
from pathlib import Path

import click

from etl.cli.common import (
    config_option,
    emit_line,
    logging_options,
    settings_from,
    start_logging,
    warehouse_option,
)
from etl.errors import EXIT_PARTIAL, ConfigError

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?(?:/s)?\s*$", re.I)
_UNITS = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}


def parse_rate(value: str | None) -> float:
    """``10MB/s``, ``500k``, ``1.5M``: bytes per second (decimal units); None or 0: no cap."""
    if not value:
        return 0.0
    m = _RATE.match(value)
    if m is None:
        raise ConfigError(f"--max-rate {value!r}: expected bytes per second such as 10MB/s, 500k or 2000000")
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for group in values for v in group.split(",") if v.strip())


def allowed_hosts(extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Zoom's hosts, those of ``ZOOM_ETL_DOWNLOAD_HOSTS`` (comma-separated) and ``extra``."""
    from etl.recordings.download import ZOOM_HOSTS

    return ZOOM_HOSTS + _split((os.environ.get("ZOOM_ETL_DOWNLOAD_HOSTS", ""),)) + _split(extra)


@click.group("recordings")
def recordings() -> None:
    """Cloud recording files: download them, and read transcripts and chat into tables."""


@recordings.command("download")
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Download folder."
)
@click.option(
    "--types",
    multiple=True,
    help="File types to download, comma-separated or repeated (MP4, M4A, TRANSCRIPT, CC, CHAT, TIMELINE...);"
    " default: every type.",
)
@click.option("--since", help="Only recordings of meetings started on or after this day (YYYY-MM-DD, UTC).")
@click.option(
    "--hosts", multiple=True, help="Only these hosts' recordings (user ids or emails, comma-separated)."
)
@click.option(
    "--concurrency", type=click.IntRange(1, 32), default=4, show_default=True, help="Meetings at once."
)
@click.option("--max-rate", help="Bandwidth cap over all downloads, e.g. 10MB/s (default: none).")
@click.option(
    "--allow-host",
    multiple=True,
    help="Host a download may be redirected to besides Zoom's (*.zoom.us, *.zoom.com, *.zoomgov.com) and"
    " those of $ZOOM_ETL_DOWNLOAD_HOSTS; a leading dot allows a domain. The token is never sent to it.",
)
@click.option(
    "--min-free-gb",
    type=float,
    default=1.0,
    show_default=True,
    help="Free disk that must remain after the run.",
)
@click.option("--no-parse", is_flag=True, help="Download only: do not read transcripts and chat into tables.")
@click.option(
    "--wait", type=float, default=0.0, help="Seconds to wait for the warehouse if another process holds it."
)
@warehouse_option
@config_option
@logging_options
def download_command(
    out: Path,
    types: tuple[str, ...],
    since: str | None,
    hosts: tuple[str, ...],
    concurrency: int,
    max_rate: str | None,
    allow_host: tuple[str, ...],
    min_free_gb: float,
    no_parse: bool,
    wait: float,
    warehouse: Path | None,
    config_path: Path | None,
    log_format: str | None,
    verbose: bool,
) -> None:
    """Download every file of every synced recording (or a subset) into OUT, resumably.

    Layout: OUT/<account>/<host>/<date>/<meeting uuid>/<topic> - <type> - <id>.<ext> (README "Recordings").
    The inventory zoom.recording_downloads makes a second run download nothing already complete.
    """
    from etl.http.files import pace
    from etl.recordings.download import Options, download_all

    try:
        since_day = date.fromisoformat(since) if since else None
    except ValueError:
        raise ConfigError(f"--since {since!r} is not a date (YYYY-MM-DD)") from None
    settings = settings_from({"warehouse": warehouse}, config_path)
    start_logging(settings, log_format, verbose)
    if not settings.warehouse.exists():
        raise ConfigError(f"warehouse {settings.warehouse} not found: `zoom-etl sync` the recordings first")
    wanted = frozenset(t.upper() for t in _split(types)) or None
    options = Options(
        out=out,
        types=wanted,
        since=since_day,
        hosts=_split(hosts),
        concurrency=concurrency,
        throttle=pace(parse_rate(max_rate)),
        allowed_hosts=allowed_hosts(allow_host),
        min_free_bytes=int(min_free_gb * 1024**3),
        parse=not no_parse,
    )
    results = download_all(settings, options, wait=wait)
    for result in results:
        emit_line(result.as_dict())
    if any(result.failed for result in results):
        sys.exit(EXIT_PARTIAL)
