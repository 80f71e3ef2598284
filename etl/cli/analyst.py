"""``zoom-etl sql``, ``report`` and ``docs``: analyst access to the warehouse, read-only.

    zoom-etl sql "SELECT ..." [--format table|csv|json|parquet] [--out FILE] [--warehouse PATH]
    zoom-etl report [NAME] [--as-of TS] [--format ...] [--out FILE] [--warehouse PATH]
    zoom-etl report --html FILE [--warehouse PATH]
    zoom-etl docs [--out FILE] [--html FILE] [--warehouse PATH]

Exit codes: 0 done; 2 usage: warehouse file missing, unknown report, ``--format parquet`` without
``--out``, ``--as-of`` for a report without a reference time, ``--html`` with a report NAME, or the SQL
was refused or failed (syntax, unknown table or column, a statement that is not a read, file or network
access without ``--unrestricted``, a write on the read-only connection, an error raised while running it);
75 a sync holds the warehouse (DuckDB lets no other process open the file meanwhile); 1 a report's view
failed.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import click
import pyarrow as pa

from etl.analytics import (
    find_report,
    load_reports,
    open_reader,
    report_list,
    run_report,
    run_sql,
    sandbox,
)
from etl.cli.common import TIMESTAMP, F, config_option, settings_from, utc, warehouse_option
from etl.contracts import load_contracts
from etl.dictionary import render
from etl.errors import ConfigError, LockedError
from etl.output import FORMATS, PLAIN, View, time_zone, write_result
from etl.warehouse.connection import evolved_contracts
from etl.warehouse.reader import open_published

format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True, help="Output format."
)
out_option = click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout."
)


def html_option(help_text: str) -> Callable[[F], F]:
    return click.option("--html", type=click.Path(dir_okay=False, path_type=Path), help=help_text)


def _check_output(fmt: str, out: Path | None) -> None:
    if fmt == "parquet" and out is None:
        raise ConfigError("--format parquet needs --out FILE")


def emit(result: pa.Table, fmt: str, out: Path | None, view: View = PLAIN) -> None:
    """Results to stdout, or to ``out`` (text formats as UTF-8; Parquet only to a file)."""
    _check_output(fmt, out)
    if out is None:
        write_result(result, fmt, sys.stdout, view=view)
    elif fmt == "parquet":
        write_result(result, fmt, sys.stdout, path=out)
    else:
        with out.open("w", encoding="utf-8", newline="") as handle:
            write_result(result, fmt, handle, view=replace(view, width=None))


def warehouse_path(warehouse: Path | None, config_path: Path | None) -> Path:
    return settings_from({"warehouse": warehouse}, config_path, require_accounts=False).warehouse


@click.command("sql")
@click.argument("query")
@format_option
@out_option
@click.option(
    "--unrestricted",
    is_flag=True,
    help="Let the query read and write files, attach databases, load extensions and change settings"
    " (DuckDB's full power; for a query you trust).",
)
@warehouse_option
@config_option
def sql_command(
    query: str,
    fmt: str,
    out: Path | None,
    unrestricted: bool,
    warehouse: Path | None,
    config_path: Path | None,
) -> None:
    """Run QUERY on a read-only connection to the warehouse ('-' reads it from stdin).

    Core tables are in schema zoom, views in schema analytics (zoom-etl report lists them). The query sees
    the warehouse only: no files, no other databases, no extensions, no settings (see --unrestricted).
    """
    _check_output(fmt, out)
    if query == "-":
        query = sys.stdin.read()
    conn = open_reader(warehouse_path(warehouse, config_path))
    try:
        if not unrestricted:
            sandbox(conn)
        result = run_sql(conn, query, sandboxed=not unrestricted)
    finally:
        conn.close()
    if result is not None:
        emit(result, fmt, out)


@click.command("report")
@click.argument("name", required=False)
@click.option(
    "--as-of",
    type=TIMESTAMP,
    default=None,
    help="Reference time for reports that look back from one (UTC unless an offset is given); default:"
    " when the last sync read Zoom.",
)
@click.option(
    "--tz",
    default="UTC",
    show_default=True,
    help="Time zone of the times shown (an IANA name such as Europe/Paris); --as-of is not affected.",
)
@format_option
@out_option
@html_option(
    "Write the visual report to FILE instead: one self-contained HTML page (charts of the views, stream"
    " freshness, last runs) that opens offline."
)
@warehouse_option
@config_option
def report_command(
    name: str | None,
    as_of: datetime | None,
    tz: str,
    fmt: str,
    out: Path | None,
    html: Path | None,
    warehouse: Path | None,
    config_path: Path | None,
) -> None:
    """Run the report NAME (a view in schema analytics); without NAME, list the reports.

    With --html FILE and no NAME, write the visual report of every view instead. As a table, codes are
    shown by name (user_type 2: Licensed), times to the minute in --tz, and wide reports fit the terminal's
    width (COLUMNS). CSV and JSON keep the codes and full times (in --tz).
    """
    if html is not None:
        if name is not None or out is not None or as_of is not None:
            raise ConfigError("--html writes the whole visual report: give no report NAME, --out or --as-of")
        from etl.visual import report as visual_report

        visual_report.write(warehouse_path(warehouse, config_path), html)
        return
    if name is None:
        emit(report_list(), fmt, out, View(width=_width()))
        return
    _check_output(fmt, out)
    view = View(time_zone(tz), tz, humanized=True, width=_width())
    find_report(name)
    conn = open_reader(warehouse_path(warehouse, config_path))
    try:
        result = run_report(conn, name, as_of=utc(as_of))
    finally:
        conn.close()
    emit(result, fmt, out, view)


def _width() -> int:
    """The terminal's columns (``COLUMNS`` first); 100 when stdout is not a terminal."""
    return shutil.get_terminal_size((100, 24)).columns


@click.command("docs")
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout."
)
@html_option(
    "Write the dictionary as one self-contained HTML page with an entity-relationship diagram to FILE"
    " (then no Markdown is printed unless --out is given)."
)
@warehouse_option
@config_option
def docs_command(
    out: Path | None, html: Path | None, warehouse: Path | None, config_path: Path | None
) -> None:
    """Print the data dictionary (Markdown): tables, keys, columns, types, units, sources, and the views.

    With a warehouse, columns added by schema drift are listed too; without one, the contracts alone.
    """
    from etl.recordings.tables import file_contracts

    contracts = {**load_contracts(), **file_contracts()}  # stream tables, and those fed by downloaded files
    path = warehouse_path(warehouse, config_path)
    if path.exists():
        try:
            conn = open_published(path)
        except LockedError as exc:
            click.echo(f"zoom-etl: warning: {exc}; columns added by schema drift are not listed", err=True)
        else:
            try:
                contracts = evolved_contracts(conn, contracts)
            finally:
                conn.close()
    elif warehouse is not None or os.environ.get("ZOOM_ETL_WAREHOUSE"):
        raise ConfigError(f"warehouse {path} not found (given by --warehouse or ZOOM_ETL_WAREHOUSE)")
    if html is not None:
        from etl.visual import dictionary as visual_dictionary

        html.write_text(visual_dictionary.render(contracts, load_reports()), encoding="utf-8")
        if out is None:
            return
    text = render(contracts, load_reports())
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
