"""Records (dicts) → one Polars frame of text columns, built from the contract's field list.

Why text first: Zoom is loose with JSON types (a meeting id is a number in one endpoint and a string in
another, ``type`` is ``"1"`` in recordings, durations are numbers or ``"mm:ss"``). Asking Polars for
String columns turns every scalar into its JSON spelling in one native pass (no inference: the schema
is the contract's field list), and the typed conversion that follows (``parse.py``) can then tell an
unparseable value from a missing one, row by row, without a Python loop.

The fast path fails as a whole when a scalar field holds an object or array; only then do we walk the
records in Python to find the offending rows, and those become rejects rather than crashes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import polars as pl

from etl.records import Unreadable

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class BadValue:
    """A record value that cannot be read as its column's type at all (or a record that is not a dict)."""

    row: int
    field: str
    value: str
    reason: str


def text_frame(
    records: Sequence[Any], fields: Sequence[str], json_fields: Iterable[str] = ()
) -> tuple[pl.DataFrame, list[BadValue]]:
    """Scalar ``fields`` as String columns and ``json_fields`` as JSON text, one row per record.

    Returns the frame and the values that could not be represented (nested value in a scalar field,
    non-dict record); those cells are NULL in the frame.
    """
    json_fields = [f for f in json_fields if f not in fields]
    bad: list[BadValue] = []
    schema = {f: pl.String for f in fields}
    frame = pl.DataFrame()
    if fields:
        try:
            if not set(map(type, records)) <= {dict}:  # lists would be read as rows: sanitize first
                raise TypeError("not every record is an object")
            frame = pl.DataFrame(records, schema=schema, strict=False)
        except (pl.exceptions.PolarsError, TypeError, ValueError):
            records, bad = _sanitize(records, fields)
            frame = pl.DataFrame(records, schema=schema, strict=False)
    if json_fields:
        columns = [pl.Series(f, [_json(r, f) for r in records], dtype=pl.String) for f in json_fields]
        frame = frame.with_columns(columns) if frame.width else pl.DataFrame(columns)
    return frame, bad


def _json(record: Any, field: str) -> str | None:
    if not isinstance(record, dict):
        return None
    value = record.get(field)
    return None if value is None else orjson.dumps(value).decode()


def _sanitize(records: Sequence[Any], fields: Sequence[str]) -> tuple[list[dict[str, Any]], list[BadValue]]:
    """Copies of the records with unrepresentable cells set to None, and what was wrong with them."""
    clean: list[dict[str, Any]] = []
    bad: list[BadValue] = []
    for row, record in enumerate(records):
        if isinstance(record, Unreadable):
            bad.append(BadValue(row, "", "", record.reason))
            clean.append({})
            continue
        if not isinstance(record, dict):
            bad.append(BadValue(row, "", _dump(record), "record is not a JSON object"))
            clean.append({})
            continue
        fixed = None
        for field in fields:
            value = record.get(field)
            if isinstance(value, dict | list):
                fixed = fixed if fixed is not None else dict(record)
                fixed[field] = None
                bad.append(BadValue(row, field, _dump(value), "nested value where a scalar is expected"))
            elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
                # Beyond any column's integer type: kept as text, so the typed conversion rejects the row.
                fixed = fixed if fixed is not None else dict(record)
                fixed[field] = str(value)
        clean.append(fixed if fixed is not None else record)
    return clean, bad


def _dump(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return repr(value)


def record_fields(records: Sequence[Any]) -> set[str]:
    """Every field name seen in the records (non-dict records are skipped; they are rejected elsewhere)."""
    if set(map(type, records)) <= {dict}:
        return set().union(*records)
    return set().union(*(r for r in records if isinstance(r, dict)))


def nested_fields(records: Sequence[Any]) -> set[str]:
    """The fields any record holds an object or an array in: a new one is a JSON column, any other
    VARCHAR. All at once: asking per field costs fields x records, and a flood brings thousands."""
    return {
        name
        for record in records
        if isinstance(record, dict)
        for name, value in record.items()
        if isinstance(value, dict | list)
    }


def loose_text(records: Sequence[Any], field: str) -> pl.Series:
    """A drift-added column: strings as they are, anything else as its JSON text."""
    values = []
    for record in records:
        value = record.get(field) if isinstance(record, dict) else None
        values.append(value if value is None or isinstance(value, str) else _dump(value))
    return pl.Series(field, values, dtype=pl.String)


def payload(record: Any) -> str:
    """A record as JSON text, for ``_etl.rejects`` (an ``Unreadable`` is that text already)."""
    return str(record) if isinstance(record, Unreadable) else _dump(record)
