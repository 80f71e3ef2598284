"""Rendering query results for people and programs: an aligned table, CSV, JSON lines, or Parquet.

Results are Arrow tables (what DuckDB hands back cheaply); the renderers write to a text stream so the
CLI can keep stdout for results and stderr for everything else.

A ``View`` says how a person reads them: the time zone instants are shown in (every text format), and for
the table only, codes by name (``user_type`` 2 -> Licensed), instants to the minute, and a width to fit:
``account_id`` with one value in every row becomes a caption line, and columns that still do not fit are
folded into blocks below each other, each repeating the first column.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from etl import humanize
from etl.errors import ConfigError

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("table", "csv", "json", "parquet")
CODES: Mapping[str, Callable[[object], object]] = {"user_type": humanize.user_type}
CAPTIONS = ("account_id",)  # when a table is too wide and these hold one value, they become a caption line


@dataclass(frozen=True, slots=True)
class View:
    tz: tzinfo | None = None  # instants with an offset are shown in this zone (None: as DuckDB gave them)
    tz_name: str = ""
    humanized: bool = False  # table: codes by name, instants to the minute
    width: int | None = None  # table: fit this many columns


PLAIN = View()


def time_zone(name: str) -> tzinfo:
    """``--tz``: an IANA name (``Europe/Paris``) or ``UTC``; a one-line error otherwise."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"--tz {name!r} is not a time zone (an IANA name such as Europe/Paris, or UTC)"
        ) from None


def _value(value: Any, view: View) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None and view.tz is not None:
        return value.astimezone(view.tz)
    return value


def _cell(value: Any, view: View = PLAIN, column: str = "") -> str:
    value = _value(value, view)
    if value is None:
        return ""
    if view.humanized and column in CODES:
        return str(CODES[column](value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if view.humanized else value.isoformat()
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def aligned(
    names: Sequence[str], cells: Sequence[Sequence[str]], numeric: Sequence[bool], *, indent: str = ""
) -> list[str]:
    """Lines of a plain-text table: a header, a rule, the rows; ``numeric`` columns right-aligned."""
    widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]

    def line(values: Sequence[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return (indent + "  ".join(parts)).rstrip()

    return [line(names), indent + "  ".join("-" * w for w in widths), *(line(row) for row in cells)]


def fitted(
    names: Sequence[str], cells: Sequence[Sequence[str]], numeric: Sequence[bool], width: int | None
) -> list[str]:
    """``aligned``, within ``width`` columns where it can: a constant ``CAPTIONS`` column as a caption, then
    blocks of columns, each repeating the first column (a column wider than ``width`` still overflows)."""
    table = aligned(names, cells, numeric)
    if width is None or max(map(len, table)) <= width:
        return table
    captions = []
    if len(cells) > 1:
        constant = [i for i, n in enumerate(names) if n in CAPTIONS and len({row[i] for row in cells}) == 1]
        captions = [f"{names[i]}: {cells[0][i]}" for i in constant]
        keep = [i for i in range(len(names)) if i not in constant]
        names = [names[i] for i in keep]
        cells = [[row[i] for i in keep] for row in cells]
        numeric = [numeric[i] for i in keep]
        table = aligned(names, cells, numeric)
        if max(map(len, table), default=0) <= width:
            return [*captions, "", *table] if captions else table
    widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]
    blocks: list[list[int]] = [[]]
    used = widths[0]
    for i in range(1, len(names)):
        if blocks[-1] and used + 2 + widths[i] > width:
            blocks.append([])
            used = widths[0]
        blocks[-1].append(i)
        used += 2 + widths[i]
    lines = [*captions, ""] if captions else []
    for number, block in enumerate(blocks):
        columns = [0, *block]
        if number:
            lines.append("")
        lines.extend(
            aligned(
                [names[i] for i in columns],
                [[r[i] for i in columns] for r in cells],
                [numeric[i] for i in columns],
            )
        )
    return lines


def write_table(result: pa.Table, out: TextIO, *, max_rows: int | None = None, view: View = PLAIN) -> None:
    """An aligned plain-text table; numbers right-aligned; a footer when rows were cut."""
    import pyarrow as pa

    names = result.column_names
    rows = result.slice(0, max_rows).to_pylist() if max_rows else result.to_pylist()
    cells = [[_cell(row[name], view, name) for name in names] for row in rows]
    numeric = [
        (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))
        and not (view.humanized and name in CODES)
        for name, t in zip(names, result.schema.types, strict=True)
    ]
    for line in fitted(names, cells, numeric, view.width):
        out.write(line + "\n")
    if max_rows and result.num_rows > max_rows:
        out.write(f"({result.num_rows - max_rows} more rows)\n")
    if view.humanized and view.tz_name and any(pa.types.is_timestamp(t) for t in result.schema.types):
        out.write(f"(times in {view.tz_name})\n")


def write_result(
    result: pa.Table, fmt: str, out: TextIO, *, path: Path | None = None, view: View = PLAIN
) -> None:
    """Write ``result`` as ``fmt``; Parquet needs ``path`` (binary output never goes to a terminal)."""
    if fmt == "table":
        write_table(result, out, view=view)
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.column_names)
        for row in result.to_pylist():
            writer.writerow(_cell(v, view) for v in row.values())
    elif fmt == "json":
        for row in result.to_pylist():
            row = {name: _value(value, view) for name, value in row.items()}
            out.write(orjson.dumps(row, default=_json_default, option=orjson.OPT_NAIVE_UTC).decode() + "\n")
    elif fmt == "parquet":
        if path is None:
            raise ConfigError("--format parquet needs --out FILE")
        import pyarrow.parquet as pq

        pq.write_table(result, path)
    else:
        raise ConfigError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
