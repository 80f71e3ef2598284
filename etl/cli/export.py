"""``zoom-etl export parquet|delta --out DIR [--tables T,...] [--analytics] [--vacuum-hours H]``: the BI
export (layout in ``etl.export``); many accounts' exports share one DIR, each replacing only its own.

Progress goes to stderr (one line per table); the summary (rows and partitions written, kept and
removed per table) to stdout. Exit codes: 0 done; 2 usage (missing warehouse, unknown table, OUT not an
export of ours, deltalake not installed, negative --vacuum-hours); 75 a sync holds the warehouse or
another export is writing one of the same accounts into OUT.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from etl.cli.analyst import warehouse_path
from etl.cli.common import config_option, warehouse_option
from etl.export import DEFAULT_VACUUM_HOURS, FORMATS, TableResult, export
from etl.output import write_result
from etl.warehouse.reader import open_published


def _progress(result: TableResult) -> None:
    click.echo(
        f"{result.table}: {result.rows} rows, {result.partitions} partitions "
        f"({result.written} written, {result.kept} kept, {result.removed} removed)",
        err=True,
    )


@click.command("export")
@click.argument("fmt", metavar="parquet|delta", type=click.Choice(FORMATS))
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Export directory."
)
@click.option(
    "--tables", multiple=True, help="Tables to export, comma-separated or repeated (default: every table)."
)
@click.option(
    "--analytics",
    is_flag=True,
    help="Export the analytics views too, as tables under DIR/analytics/<view> (what `report` answers).",
)
@click.option(
    "--vacuum-hours",
    type=int,
    default=DEFAULT_VACUUM_HOURS,
    show_default=True,
    help="Delta: remove files replaced more than this many hours ago (plain Parquet readers count them).",
)
@click.option(
    "--format",
    "summary_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Format of the summary on stdout.",
)
@warehouse_option
@config_option
def export_command(
    fmt: str,
    out: Path,
    tables: tuple[str, ...],
    analytics: bool,
    vacuum_hours: int,
    summary_format: str,
    warehouse: Path | None,
    config_path: Path | None,
) -> None:
    """Export the core tables as Hive-partitioned Parquet or Delta Lake tables (account_id, date).

    Atomic, and incremental: only partitions whose content changed since the last export are rewritten.
    Replaces only the warehouse's own accounts: exports of other accounts share DIR.
    """
    names = [t.strip() for group in tables for t in group.split(",") if t.strip()]
    conn = open_published(warehouse_path(warehouse, config_path))
    try:
        result = export(
            conn, fmt, out, names or None, on_table=_progress, analytics=analytics, vacuum_hours=vacuum_hours
        )
    finally:
        conn.close()
    write_result(result.to_arrow(), summary_format, sys.stdout)
