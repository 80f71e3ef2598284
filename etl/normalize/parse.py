"""Text → typed value, for every format Zoom uses, as Polars expressions (and a pure-Python twin of each
for the property tests and the data dictionary).

Every value reaches normalization as text (see ``frame.py``), so each converter takes a String
expression. A converter returns NULL for an empty or unparseable value; the caller tells them apart
(``""`` is Zoom's "no value", anything else that fails is a reject).

Times. Zoom writes ``2022-03-23T06:58:09Z`` (REST), ``2019-02-01T12:34:12.660Z`` (fractional seconds,
webinar reports), ``2022-03-23T06:58:09+00:00`` (GraphQL), and ``12/22/2021 16:20`` (report listings'
``schedule_time``/``join_time``). The last carries no zone: we read it as UTC, like every other Zoom
time; ``YYYY-MM-DD HH:MM:SS`` likewise. Fractions beyond microseconds are truncated.

Durations. Report and past-meeting endpoints give integers (participant segments in seconds, meetings
in minutes); the dashboard gives ``"mm:ss"`` (``"55:01"``) or ``"h:mm:ss"`` (``"1:02:03"``). A column
declares its unit; strings are converted to it (minutes rounded half up, so ``"00:56"`` is 1 minute).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import polars as pl

UTC_US = pl.Datetime("us", "UTC")

# The common REST spelling has a fast path in Polars (5x faster than the general one with %.f);
# ``timestamp(fast=True)`` tries only it, and callers retry the few columns where it missed.
_FAST_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Tried in order; each is exact, so a value matches at most one.
_NAIVE_FORMATS = (
    _FAST_FORMAT,
    "%Y-%m-%dT%H:%M:%S%.fZ",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
)
_ZONED_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%:z",)
_DURATION_RE = r"^(?:(\d+):)?(\d{1,2}):(\d{2})$"
_INTEGRAL_FRACTION = r"(\d)\.0*$"  # "7220.0" -> "7220" (the digit is put back: "$1")


def timestamp(expr: pl.Expr, *, fast: bool = False) -> pl.Expr:
    """Any Zoom time text → ``Datetime(us, UTC)``; NULL if no format fits (``fast``: only if the
    value is in the common ``2022-03-23T06:58:09Z`` spelling)."""
    if fast:
        return expr.str.strptime(
            pl.Datetime("us"), _FAST_FORMAT, strict=False, exact=True
        ).dt.replace_time_zone("UTC")
    naive = [
        expr.str.strptime(pl.Datetime("us"), f, strict=False, exact=True).dt.replace_time_zone("UTC")
        for f in _NAIVE_FORMATS
    ]
    zoned = [expr.str.strptime(UTC_US, f, strict=False, exact=True) for f in _ZONED_FORMATS]
    return pl.coalesce([*naive, *zoned])


def day(expr: pl.Expr) -> pl.Expr:
    """``YYYY-MM-DD`` → Date (a full timestamp is accepted and cut to its UTC day)."""
    return pl.coalesce(
        expr.str.strptime(pl.Date, "%Y-%m-%d", strict=False, exact=True), timestamp(expr).dt.date()
    )


def integer(expr: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Integer text (JSON numbers arrive as their spelling) → ``dtype``; NULL for "1.5", "abc", overflow.

    An integral number spelled as a float (``7220.0``) is that integer: Zoom's OpenAPI types some counts
    and sizes (``file_size``) as ``number``."""
    return expr.str.strip_chars().str.replace(_INTEGRAL_FRACTION, "$1").cast(dtype, strict=False)


def duration(expr: pl.Expr, unit: str, dtype: pl.DataType) -> pl.Expr:
    """An integer (already in ``unit``) or ``[h:]mm:ss`` text → integer in ``unit``."""
    parts = expr.str.extract_groups(_DURATION_RE)
    hours = parts.struct.field("1").cast(pl.Int64, strict=False).fill_null(0)
    minutes = parts.struct.field("2").cast(pl.Int64, strict=False)
    secs = parts.struct.field("3").cast(pl.Int64, strict=False)
    total = hours * 3600 + minutes * 60 + secs
    valid = secs < 60
    clock = pl.when(valid).then(total if unit == "seconds" else (total + 30) // 60)
    return pl.coalesce(integer(expr, pl.Int64()), clock).cast(dtype, strict=False)


def number(expr: pl.Expr) -> pl.Expr:
    return expr.str.strip_chars().cast(pl.Float64, strict=False)


def boolean(expr: pl.Expr) -> pl.Expr:
    """``true``/``false`` (JSON booleans' spelling; also 1/0, which some Zoom fields use)."""
    lowered = expr.str.to_lowercase()
    return (
        pl.when(lowered.is_in(["true", "1"]))
        .then(True)
        .when(lowered.is_in(["false", "0"]))
        .then(False)
        .otherwise(None)
    )


# Pure-Python twins: the reference the property tests hold the expressions to.


def parse_timestamp(text: str) -> datetime | None:
    """Reference parser for ``timestamp``."""
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})", text)
    if m:
        year, month, dd, hh, mi, ss, frac, zone = m.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        try:
            value = datetime(int(year), int(month), int(dd), int(hh), int(mi), int(ss), micro, tzinfo=UTC)
        except ValueError:
            return None
        if zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            offset = sign * (int(zone[1:3]) * 60 + int(zone[4:6]))
            value -= timedelta(minutes=offset)
        return value
    m = re.fullmatch(r"(\d{2})/(\d{2})/(\d{4}) (\d{2}):(\d{2})(?::(\d{2}))?", text)
    if m:
        month, dd, year, hh, mi, ss = m.groups()
        try:
            return datetime(int(year), int(month), int(dd), int(hh), int(mi), int(ss or 0), tzinfo=UTC)
        except ValueError:
            return None
    return None


def parse_duration(text: str, unit: str = "seconds") -> int | None:
    """Reference parser for ``duration``: ``"55:01"`` → 3301 s, ``"1:02:03"`` → 3723 s."""
    if m := re.fullmatch(r"\s*([+-]?\d+)(?:\.0*)?\s*", text):
        value = int(m.group(1))
        return value if -(2**63) <= value < 2**63 else None
    m = re.fullmatch(_DURATION_RE, text)
    if not m or int(m.group(3)) >= 60:
        return None
    seconds = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
    return seconds if unit == "seconds" else (seconds + 30) // 60


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        return None
