"""The analytics layer: ``warehouse/*.sql`` applied to the warehouse, listed and run as named reports.

Every file in ``warehouse/`` is one report. It starts with a comment header (``-- name:``, ``-- summary:``,
free text, and a ``-- columns:`` list) and creates objects in the DuckDB schema ``analytics``: a view named
like the file, sometimes with a table macro beside it (``analytics.license_utilization_at(ts)``). Derived
objects live apart from the core tables (schema ``zoom``) so that exports and ``zoom.*`` stay source data
only, and dropping ``analytics`` can never lose data.

``apply`` runs the files in file-name order (views never depend on each other's file, so the order only
needs to be stable) and records a fingerprint of their text as ``analytics.layer_version()``.

Reference time. A report that asks "in the last N days" asks it at ``analytics.reference_time()``: Zoom's
clock when the latest successful (ok or partial) sync began reading (``_etl.runs.data_as_of``), else
``now()`` for a warehouse that never finished one. Never the reader's wall clock: a warehouse opened a
month after its last sync (or a simulator's account, whose clock is its own) would otherwise call every
user idle. Such a report also has a table macro ``<name>_at(ts)`` for any other instant, which is what
``zoom-etl report NAME --as-of TS`` runs. The pipeline
calls it after every sync. Readers (``open_reader``) use a READ-ONLY connection to the warehouse's read
copy; when the views are missing or older than the installed files (a warehouse synced by an older
zoom-etl), the reader first refreshes them in the warehouse under the writer lock and publishes the read
copy again, then reconnects read-only.

Concurrency: readers open the read copy (``etl.warehouse.publish``), which a sync replaces whole when it
ends and never holds, so ``zoom-etl sql``, ``report`` and ``export`` answer from the last finished sync
while another one runs, and any number of readers run side by side.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from etl.errors import ConfigError, LockedError, WarehouseError
from etl.resources import VIEWS
from etl.warehouse.connection import Warehouse
from etl.warehouse.reader import open_published

SCHEMA = "analytics"
DEFAULT_DIR = VIEWS

log = logging.getLogger(__name__)

_HEADER_KEY = re.compile(r"^--\s*(name|summary):\s*(.*?)\s*$")
_COLUMN = re.compile(r"^--\s{2,}([a-z_][a-z0-9_]*)\s+([A-Z]+)\s+(.+?)\s*$")

REFERENCE_TIME = f"""CREATE OR REPLACE MACRO {SCHEMA}.reference_time() AS (
    SELECT coalesce(max(data_as_of), max(ended_at), now())::TIMESTAMPTZ
    FROM _etl.runs WHERE status IN ('ok', 'partial')
)"""
"""The instant "now" means in a report: see the module docstring."""


@dataclass(frozen=True, slots=True)
class Report:
    """One ``warehouse/<name>.sql`` file: its documented header and the SQL that creates its objects."""

    name: str
    summary: str
    header: str  # the whole comment block, without the leading "-- "
    columns: tuple[tuple[str, str, str], ...]  # (name, type, description) as documented
    sql: str
    path: Path

    @property
    def view(self) -> str:
        return f"{SCHEMA}.{self.name}"

    @property
    def macro(self) -> str | None:
        """``analytics.<name>_at``, the table macro for any reference time, where the file defines one."""
        name = f"{SCHEMA}.{self.name}_at"
        return name if re.search(rf"\bMACRO\s+{re.escape(name)}\s*\(", self.sql, flags=re.I) else None


def parse_report(path: Path) -> Report:
    """Read one SQL file; the header must name the file (``-- name: <stem>``) and give a summary."""
    text = path.read_text(encoding="utf-8")
    header_lines: list[str] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        header_lines.append(line)
    keys: dict[str, str] = {}
    columns: list[tuple[str, str, str]] = []
    in_columns = False
    for line in header_lines:
        match = _HEADER_KEY.match(line)
        if match:
            keys[match.group(1)] = match.group(2)
            continue
        if re.match(r"^--\s*columns:\s*$", line):
            in_columns = True
            continue
        column = _COLUMN.match(line)
        if in_columns and column:
            columns.append((column.group(1), column.group(2), column.group(3)))
    if keys.get("name") != path.stem:
        raise WarehouseError(f"{path.name}: header must start with '-- name: {path.stem}'")
    if not keys.get("summary"):
        raise WarehouseError(f"{path.name}: header needs a '-- summary:' line")
    if not columns:
        raise WarehouseError(f"{path.name}: header needs a '-- columns:' list")
    header = "\n".join(re.sub(r"^-- ?", "", line) for line in header_lines)
    return Report(path.stem, keys["summary"], header, tuple(columns), text, path)


def load_reports(directory: Path | None = None) -> list[Report]:
    """Every report in ``directory`` (default: the project's ``warehouse/``), in file-name order."""
    directory = directory or DEFAULT_DIR
    reports = [parse_report(p) for p in sorted(directory.glob("*.sql"))]
    if not reports:
        raise WarehouseError(f"{directory}: no analytics SQL files found")
    return reports


def layer_version(reports: list[Report]) -> str:
    """Fingerprint of the layer's SQL: changes whenever any file's text changes."""
    digest = hashlib.sha256(REFERENCE_TIME.encode() + b"\0")
    for report in reports:
        digest.update(report.name.encode() + b"\0" + report.sql.encode() + b"\0")
    return digest.hexdigest()[:16]


def apply(conn: duckdb.DuckDBPyConnection, directory: Path | None = None) -> list[str]:
    """Create or replace every analytics object; returns the report names in the order applied.

    Issues no BEGIN/COMMIT, so the caller may run it inside its own transaction.
    """
    reports = load_reports(directory)
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    conn.execute(REFERENCE_TIME)
    for report in reports:
        try:
            conn.execute(report.sql)
        except duckdb.Error as exc:
            raise WarehouseError(f"warehouse/{report.path.name}: {_first_line(exc)}") from exc
    version = layer_version(reports)
    conn.execute(f"CREATE OR REPLACE MACRO {SCHEMA}.layer_version() AS '{version}'")
    return [r.name for r in reports]


def applied_version(conn: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint the warehouse's analytics objects were created from, or None if never applied."""
    try:
        rows = conn.execute(f"SELECT {SCHEMA}.layer_version()").fetchall()
    except duckdb.Error:
        return None
    return str(rows[0][0]) if rows else None


def open_reader(path: Path, directory: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection in UTC to the last published state of the warehouse at ``path`` (its read
    copy), with the analytics layer brought up to date first if needed.

    Missing file: ``ConfigError``; no read copy yet and a sync holding the warehouse: ``LockedError``.
    """
    conn = open_published(path)
    if applied_version(conn) != layer_version(load_reports(directory)):
        conn.close()
        _refresh(path, directory)
        conn = open_published(path)
    return conn


def _refresh(path: Path, directory: Path | None) -> None:
    """Apply the layer under the writer lock and publish; if the file cannot be written, go on without."""
    try:
        with Warehouse.open(path, raw=False, publish=True) as warehouse:
            apply(warehouse.conn, directory)
    except (LockedError, WarehouseError) as exc:
        log.warning("analytics views of %s could not be refreshed (%s); using them as they are", path, exc)


# What ``zoom-etl sql`` runs unless told ``--unrestricted``: queries (SELECT, WITH, FROM, VALUES, SHOW,
# DESCRIBE, SUMMARIZE, PIVOT), EXPLAIN, PRAGMA and CALL of DuckDB's introspection, SET VARIABLE and USE.
# Everything else (ATTACH, DETACH, COPY, EXPORT, INSTALL, LOAD, CREATE, INSERT, PREPARE...) is refused.
READ_STATEMENTS = frozenset(
    {
        duckdb.StatementType.SELECT,
        duckdb.StatementType.EXPLAIN,
        duckdb.StatementType.PRAGMA,
        duckdb.StatementType.CALL,
        duckdb.StatementType.MULTI,
        duckdb.StatementType.SET,  # SET VARIABLE and USE: the configuration itself is locked by sandbox()
    }
)


def sandbox(conn: duckdb.DuckDBPyConnection) -> None:
    """Lock a reader's connection down to the databases it has attached: no file or network access (no
    ``read_csv``, ``COPY ... TO``, ``ATTACH`` of a file), no extension installed or loaded, and no
    configuration change after this (``SET threads``, ``RESET``, ``SET enable_external_access``)."""
    conn.execute("SET autoinstall_known_extensions = false")
    conn.execute("SET autoload_known_extensions = false")
    conn.execute("SET allow_community_extensions = false")
    conn.execute("SET enable_external_access = false")
    conn.execute("SET lock_configuration = true")


def run_sql(conn: duckdb.DuckDBPyConnection, query: str, *, sandboxed: bool = True) -> pa.Table | None:
    """Run an analyst's query; None for a statement without a result. Any DuckDB error -> ConfigError.

    The analyst's SQL is input like a flag: a syntax error, an unknown table, an attempt to write on the
    read-only connection, a statement outside ``READ_STATEMENTS`` on a ``sandboxed`` run, or a failing cast
    in the query all exit 2 with DuckDB's first message line.
    """
    try:
        _finish_pending(conn)
        if sandboxed:
            _check_statements(conn, query)
        relation = conn.sql(query)
        return None if relation is None else relation.to_arrow_table()
    except duckdb.Error as exc:
        raise ConfigError(f"query failed: {_first_line(exc)}") from None


def find_report(name: str, directory: Path | None = None) -> Report:
    reports = load_reports(directory)
    for report in reports:
        if report.name == name:
            return report
    raise ConfigError(f"unknown report {name!r}; choose one of {', '.join(r.name for r in reports)}")


def run_report(
    conn: duckdb.DuckDBPyConnection,
    name: str,
    directory: Path | None = None,
    *,
    as_of: datetime | None = None,
) -> pa.Table:
    """The rows of report ``name`` (its view), in the view's order; with ``as_of``, its ``_at`` macro at
    that instant instead of the reference time (``ConfigError`` for a report that takes none)."""
    report = find_report(name, directory)
    source = report.view
    if as_of is not None:
        if report.macro is None:
            takes = ", ".join(r.name for r in load_reports(directory) if r.macro) or "none"
            raise ConfigError(
                f"report {name} covers all history and takes no --as-of (reports that do: {takes})"
            )
        source = f"{report.macro}(TIMESTAMPTZ '{as_of.astimezone(UTC).isoformat()}')"
    try:
        _finish_pending(conn)
        return conn.sql(f"SELECT * FROM {source}").to_arrow_table()
    except duckdb.Error as exc:
        raise WarehouseError(f"report {name}: {_first_line(exc)}") from exc


def report_list(directory: Path | None = None) -> pa.Table:
    """Name, whether it takes ``--as-of``, and one-line summary of every report (``zoom-etl report``)."""
    reports = load_reports(directory)
    return pa.table(
        {
            "report": [r.name for r in reports],
            "as_of": [r.macro is not None for r in reports],
            "summary": [r.summary for r in reports],
        }
    )


def _check_statements(conn: duckdb.DuckDBPyConnection, query: str) -> None:
    for statement in conn.extract_statements(query):
        if statement.type not in READ_STATEMENTS:
            verb = statement.query.split(None, 1)[0].upper() if statement.query.strip() else "statement"
            raise ConfigError(
                f"query refused: {verb} is not a read; `zoom-etl sql` runs queries only (SELECT, WITH, "
                "SHOW, DESCRIBE, EXPLAIN, PRAGMA, CALL); --unrestricted lifts this for a trusted query"
            )


def _finish_pending(conn: duckdb.DuckDBPyConnection) -> None:
    """Run to its end any result a caller's ``execute()`` left unread (``fetchone``): DuckDB 2 refuses a
    new relation on the connection until it is finished. Harmless when there is none."""
    conn.complete()


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
