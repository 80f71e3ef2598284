"""The data dictionary: Markdown made from the table contracts and the analytics files' headers.

Written from the same contracts the warehouse DDL and normalization use, so it cannot drift from the
tables; with a warehouse at hand it also lists the columns schema drift added (mode evolve).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from etl.analytics import SCHEMA, Report
from etl.contracts import Contract

SYSTEM = (
    ("account_id", "VARCHAR", "Zoom account the row belongs to; first column of every primary key."),
    ("_run_id", "VARCHAR", "Run (`_etl.runs.run_id`) that last wrote the row."),
    ("_synced_at", "TIMESTAMPTZ", "When the page holding the row was fetched (UTC)."),
)
HISTORY = (
    ("valid_from", "TIMESTAMPTZ", "Start of this version's validity (UTC)."),
    ("valid_to", "TIMESTAMPTZ", "End of its validity; NULL for the current version."),
    ("is_current", "BOOLEAN", "True for the current version."),
    ("_row_hash", "VARCHAR", "Hash of the tracked columns; a new version starts when it changes."),
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    names = list(header)
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return lines


def _code(text: str) -> str:
    return f"`{text}`"


def facts(contract: Contract, code: Callable[[str], str] = _code) -> list[tuple[str, str]]:
    """A table's key, source, history, drift mode and fields not stored, as (label, text) pairs;
    ``code`` marks up a name (Markdown backticks by default)."""
    items = [("Primary key", ", ".join(code(k) for k in contract.key))]
    if contract.parent:
        items.append(
            (
                "Source",
                f"stream {code(contract.stream)}, the {code(contract.parent_field or '')} array of each "
                f"{code(contract.parent)} record",
            )
        )
    else:
        items.append(("Source", f"stream {code(contract.stream)}"))
    if contract.history_table:
        items.append(
            (
                "History",
                f"SCD2 in {code('zoom.' + contract.history_table)} (same columns plus {code('valid_from')}, "
                f"{code('valid_to')}, {code('is_current')}, {code('_row_hash')}); "
                f"{code(f'zoom.{contract.table}_as_of(ts)')} gives the table as it was at {code('ts')}",
            )
        )
        if contract.hash_exclude:
            items.append(("Not versioned alone", ", ".join(code(c) for c in contract.hash_exclude)))
    items.append(("Unknown fields (drift mode)", contract.drift))
    if contract.ignore:
        items.append(("Not stored", ", ".join(code(f) for f in contract.ignore)))
    return items


COLUMN_HEADERS = ("column", "type", "key", "null", "unit", "description", "source fields")


def column_rows(contract: Contract, code: Callable[[str], str] = _code) -> list[list[str]]:
    """One row per column of the table (system columns included, in the table's order), under
    ``COLUMN_HEADERS``; ``key`` is the column's position in the primary key."""
    system = [
        [code(name), type_, "1" if name == "account_id" else "", "no", "", text, "(system)"]
        for name, type_, text in SYSTEM
    ]
    rows = system[:1]  # account_id first, _run_id and _synced_at last: the tables' column order
    for column in contract.columns:
        position = str(contract.key.index(column.name) + 1) if column.name in contract.key else ""
        if column.derive:
            source = f"derived ({column.derive}) from " + ", ".join(code(s) for s in column.sources)
        elif column.evolved:
            source = f"{code(column.name)} (added by schema drift)"
        else:
            source = ", ".join(code(s) for s in column.sources)
        source = source or code(column.name)
        if contract.parent_keys.get(column.name):
            source = f"parent {code(f'{contract.parent}.{contract.parent_keys[column.name]}')}"
        rows.append(
            [
                code(column.name),
                column.type,
                position,
                "yes" if column.nullable else "no",
                column.unit or "",
                column.description,
                source,
            ]
        )
    rows.extend(system[1:])
    return rows


def _contract_section(contract: Contract) -> list[str]:
    lines = [f"### `zoom.{contract.table}`", "", contract.description, ""]
    lines.extend(f"- **{label}:** {text}" for label, text in facts(contract))
    lines.append("")
    lines.extend(_table(COLUMN_HEADERS, column_rows(contract)))
    lines.append("")
    return lines


def _report_section(report: Report) -> list[str]:
    lines = [f"### `{SCHEMA}.{report.name}`", "", report.summary, ""]
    lines.extend(_table(("column", "type", "description"), ([f"`{n}`", t, d] for n, t, d in report.columns)))
    lines.append("")
    return lines


def render(contracts: Mapping[str, Contract], reports: Iterable[Report] = ()) -> str:
    """The whole dictionary as Markdown: core tables (sorted by name), then the analytics views."""
    lines = [
        "# zoom-etl data dictionary",
        "",
        "Generated by `zoom-etl docs` from the table contracts (`schemas/tables/*.toml`, and "
        "`schemas/files/*.toml` for the tables `zoom-etl recordings download` fills) and the analytics "
        "files (`warehouse/*.sql`). Timestamps are TIMESTAMPTZ in UTC. Every core table also has the system "
        "columns `account_id`, `_run_id` and `_synced_at`; `key` is the column's position in the primary "
        "key.",
        "",
        "## Core tables (schema `zoom`)",
        "",
    ]
    for name in sorted(contracts):
        lines.extend(_contract_section(contracts[name]))
    report_list = list(reports)
    if report_list:
        lines.extend([f"## Analytics views (schema `{SCHEMA}`)", ""])
        lines.extend(
            [
                "Created by every sync from `warehouse/*.sql`; `zoom-etl report NAME` runs one. "
                "Each file's header explains what it answers and how.",
                "",
            ]
        )
        for report in report_list:
            lines.extend(_report_section(report))
    history_rows = ([f"`{n}`", t, d] for n, t, d in HISTORY)
    lines.extend(
        [
            "## History columns (tables `*_history`)",
            "",
            *_table(("column", "type", "description"), history_rows),
        ]
    )
    return "\n".join(lines) + "\n"
