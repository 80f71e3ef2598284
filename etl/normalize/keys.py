"""Derived keys: the participant key, the id of a recording file Zoom gives none, and the SCD2 row hash.
All must be stable across runs, machines and library versions (they are stored and compared later), so
none uses Polars' or DuckDB's internal hash, whose values may change between releases: they use BLAKE2b
and MD5 from the standard library, or the record's own text.
"""

from __future__ import annotations

import hashlib

import polars as pl

_SEP = "\x1f"


def _guest_hash(text: str) -> str:
    """``h:`` + 16 hex digits of BLAKE2b over ``name + "\\x1f" + email`` (a missing one spelled ""):
    the key of a participant with no id."""
    return "h:" + hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def participant_key(
    stable_id: pl.Series, meeting_id: pl.Series, name: pl.Series, email: pl.Series
) -> pl.Series:
    """``participant_user_id``, else ``u:`` + per-meeting ``user_id``, else a hash of name and email.

    Empty strings count as missing (Zoom sends ``""`` for guests). The key is never the whole identity of
    a row: the primary key adds ``join_time``, so two guests called "iPhone" who join at different times,
    and one guest who rejoins, stay separate rows.
    """
    frame = pl.DataFrame({"s": stable_id, "m": meeting_id, "n": name, "e": email}).select(
        pl.coalesce(pl.col("s").replace("", None), pl.lit("u:") + pl.col("m").replace("", None)).alias("k"),
        # What ``_guest_hash`` hashes: name and email, a missing one spelled "".
        pl.concat_str([pl.col("n").fill_null(""), pl.col("e").fill_null("")], separator=_SEP).alias("g"),
    )
    key = frame.get_column("k")
    guests = frame.filter(pl.col("k").is_null()).get_column("g").unique()
    if not len(guests):
        return key.alias("participant_key")
    # Hash each distinct guest once in Python; Polars maps the hashes back onto the rows.
    hashes = {text: _guest_hash(text) for text in guests}
    return (
        frame.select(
            pl.coalesce("k", pl.col("g").replace_strict(hashes, default=None, return_dtype=pl.String))
        )
        .to_series()
        .alias("participant_key")
    )


def recording_file_id(
    file_id: pl.Series, meeting_uuid: pl.Series, file_type: pl.Series, recording_start: pl.Series
) -> pl.Series:
    """Zoom's file ``id``, else ``<file_type>|<meeting_uuid>|<recording_start>`` (UTC, to the second).

    Zoom's OpenAPI file: a file of type ``CC`` or ``TIMELINE`` "does not have" an ``id`` (nor ``status``,
    ``file_size``, ``recording_type``, ``play_url``). A recording holds at most one file of each such type
    per start, so the three parts name it as stably as an id; ``|`` occurs in no UUID. NULL when a part
    is missing too (the row is then rejected as a missing key)."""
    frame = pl.DataFrame({"i": file_id, "m": meeting_uuid, "t": file_type, "s": recording_start})
    derived = pl.concat_str(
        [pl.col("t"), pl.col("m"), pl.col("s").dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")],
        separator="|",
    )
    return frame.select(pl.coalesce(pl.col("i").replace("", None), derived)).to_series()


def row_hash(frame: pl.DataFrame, columns: list[str], optional: list[str]) -> pl.Series:
    """MD5 of the row's values for SCD2 change detection.

    ``columns`` always count (NULL spelled as ``\\0``); ``optional`` (columns added by schema drift)
    count only when not NULL, so adding a column does not change the hash of rows that lack it, and a
    rebuild (where the column exists from the start) yields the same hashes as the original sync.
    """
    parts = [_canonical(frame, c).fill_null("\x00") for c in columns]
    # Each optional part brings its own separator, so an absent one leaves no trace in the text.
    parts += [
        pl.when(_canonical(frame, c).is_not_null())
        .then(pl.lit(f"{_SEP}{c}=") + _canonical(frame, c))
        .otherwise(pl.lit(""))
        for c in optional
    ]
    if not parts:
        return pl.Series("_row_hash", [hashlib.md5(b"").hexdigest()] * len(frame), dtype=pl.String)
    fixed = pl.concat_str(parts[: len(columns)], separator=_SEP) if columns else pl.lit("")
    text = frame.select(pl.concat_str([fixed, *parts[len(columns) :]], separator="").alias("t")).to_series()
    return pl.Series("_row_hash", [hashlib.md5(t.encode()).hexdigest() for t in text], dtype=pl.String)


def _canonical(frame: pl.DataFrame, name: str) -> pl.Expr:
    """A column as text that does not depend on Polars' display format (times as epoch microseconds)."""
    dtype = frame.schema[name]
    column = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        return column.dt.epoch("us").cast(pl.String)
    if dtype == pl.Date:
        return column.cast(pl.Int32).cast(pl.String)
    return column.cast(pl.String)
