"""Rendering query results for people and programs: an aligned table, CSV, JSON lines, or Parquet.

Results are Arrow tables (what DuckDB hands back cheaply); the renderers write to a text stream so the
CLI can keep stdout for results and stderr for everything else.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from etl.errors import ConfigError

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("table", "csv", "json", "parquet")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
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


def write_table(result: pa.Table, out: TextIO, *, max_rows: int | None = None) -> None:
    """An aligned plain-text table; numbers right-aligned; a footer when rows were cut."""
    import pyarrow as pa

    names = result.column_names
    rows = result.slice(0, max_rows).to_pylist() if max_rows else result.to_pylist()
    cells = [[_cell(row[name]) for name in names] for row in rows]
    numeric = [
        pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)
        for t in result.schema.types
    ]
    for line in aligned(names, cells, numeric):
        out.write(line + "\n")
    if max_rows and result.num_rows > max_rows:
        out.write(f"({result.num_rows - max_rows} more rows)\n")


def write_result(result: pa.Table, fmt: str, out: TextIO, *, path: Path | None = None) -> None:
    """Write ``result`` as ``fmt``; Parquet needs ``path`` (binary output never goes to a terminal)."""
    if fmt == "table":
        write_table(result, out)
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(result.column_names)
        for row in result.to_pylist():
            writer.writerow(_cell(v) for v in row.values())
    elif fmt == "json":
        for row in result.to_pylist():
            out.write(orjson.dumps(row, default=_json_default, option=orjson.OPT_NAIVE_UTC).decode() + "\n")
    elif fmt == "parquet":
        if path is None:
            raise ConfigError("--format parquet needs --out FILE")
        import pyarrow.parquet as pq

        pq.write_table(result, path)
    else:
        raise ConfigError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
