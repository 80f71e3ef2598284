"""One table's rows from one list of records: drift, text frame, typed columns, rejects, dedupe.

Input is plain data: the records, which page each came from, a per-page frame (account, run, fetched_at,
batch ordinal, page context) and per-row extras (a child's parent keys). Output is a typed frame in the
contract's column order plus ``account_id``, ``_run_id``, ``_synced_at`` (and ``_row_hash`` for SCD2
tables), the rejects, and the schema changes seen. Nothing here knows about HTTP or DuckDB.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from etl.contracts import HISTORY_COLUMNS, Column, Contract
from etl.normalize import frame as frames
from etl.normalize import keys, parse
from etl.records import Unreadable

POLARS_TYPES: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(),
    "JSON": pl.String(),
    "BIGINT": pl.Int64(),
    "INTEGER": pl.Int32(),
    "DOUBLE": pl.Float64(),
    "BOOLEAN": pl.Boolean(),
    "DATE": pl.Date(),
    "TIMESTAMPTZ": pl.Datetime("us", "UTC"),
}
META = ("_account_id", "_run_id", "_synced_at", "_batch")
REJECT_SCHEMA = {
    "table_name": pl.String,
    "column_name": pl.String,
    "value": pl.String,
    "reason": pl.String,
    "payload": pl.String,
    "run_id": pl.String,
    "account_id": pl.String,
    "stream": pl.String,
}


_PROBLEMS = pl.DataFrame(
    schema={"_pos": pl.UInt32, "column_name": pl.String, "value": pl.String, "reason": pl.String}
)


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """A record field the contract does not know, and what the drift mode did with it."""

    table: str
    column: str
    mode: str  # evolve: column added | freeze: rows rejected | discard: field dropped
    column_type: str  # VARCHAR or JSON (what evolve adds)
    stream: str


@dataclass(slots=True)
class TableResult:
    frame: pl.DataFrame
    rejects: pl.DataFrame
    schema_changes: list[SchemaChange] = field(default_factory=list)
    contract: Contract | None = None  # the contract after evolve added columns
    rejected_rows: int = 0
    duplicates: int = 0
    rejected_positions: frozenset[int] = frozenset()  # indexes into the records of the rows rejected


def normalize_table(
    contract: Contract,
    records: Sequence[Any],
    page_of_row: pl.Series,
    pages: pl.DataFrame,
    stream: str,
    extras: dict[str, pl.Series] | None = None,
) -> TableResult:
    """Typed, deduplicated rows of ``contract.table`` from ``records`` (see the module docstring)."""
    extras = extras or {}
    seen = frames.record_fields(records)
    contract, changes, frozen = _drift(contract, records, seen, stream)
    scalar: list[str] = []
    nested: list[str] = []
    for column in contract.columns:
        if column.evolved:
            continue
        target = nested if column.type == "JSON" else scalar
        target.extend(s for s in column.sources if s in seen and s not in target)
    text, bad = frames.text_frame(records, scalar, nested)
    evolved = [c for c in contract.columns if c.evolved]
    if evolved:  # records with no known field at all leave ``text`` without rows: build it, not extend it
        columns = [_evolved_column(records, c) for c in evolved]
        text = text.with_columns(columns) if text.width else pl.DataFrame(columns)
    parts = [text] if text.width else []
    parts.append(pages.select(pl.all().gather(page_of_row)))
    if extras:
        parts.append(pl.DataFrame(extras))
    data = pl.concat(parts, how="horizontal").with_row_index("_pos")

    raw = {c.name: _raw(c, data) for c in contract.columns}
    # Parts of a composite key keep their text: "" is a value there (an operation log's empty detail),
    # and NULL would make the key unequal to itself. A one-column key is the row's identity: "" means
    # the record has none, a reject like a missing one.
    keyed = frozenset(contract.primary_key) if len(contract.primary_key) > 1 else frozenset()
    data = data.with_columns(expr.alias(f"__raw_{name}") for name, expr in raw.items())
    data = data.with_columns(
        _typed(c, pl.col(f"__raw_{c.name}"), keyed, fast=True).alias(c.name) for c in contract.columns
    )
    # The fast path reads only the common spelling (REST times, integer durations); the few columns
    # where some value missed it are converted again with every format Zoom uses.
    timed = [c for c in contract.columns if c.type == "TIMESTAMPTZ" or c.unit]
    if timed:
        missed = data.select(_unparsed(c).any().alias(c.name) for c in timed).row(0, named=True)
        retry = [c for c in timed if missed[c.name]]
        if retry:
            data = data.with_columns(_typed(c, pl.col(f"__raw_{c.name}"), keyed).alias(c.name) for c in retry)
    for column in contract.columns:
        if column.derive == "participant_key":
            data = data.with_columns(_participant_key(data, column))
        elif column.derive == "recording_file_id":
            derived = keys.recording_file_id(
                data.get_column(column.name),
                data.get_column("meeting_uuid"),
                data.get_column("file_type"),
                data.get_column("recording_start"),
            )
            data = data.with_columns(derived.alias(column.name))

    checks = [(c, mask, reason) for c in contract.columns for mask, reason in _checks(c)]
    if checks and data.select(pl.any_horizontal(mask for _, mask, _ in checks).any()).item():
        problems = [_problems(c, data, [(m, r) for c2, m, r in checks if c2 is c]) for c in contract.columns]
    else:
        problems = []
    problems += [_bad_values(bad, contract, data), _frozen(frozen, records, data)]
    found = pl.concat([_PROBLEMS, *(p for p in problems if p is not None and len(p))], how="vertical")
    unreadable = sorted({b.row for b in bad if isinstance(records[b.row], Unreadable)})
    if unreadable:  # rejected whole, for its reason alone: its empty columns' checks say nothing more
        found = found.filter(~pl.col("_pos").is_in(unreadable) | (pl.col("column_name") == ""))
    rejects = _reject_frame(found, contract.table, records, data, stream)
    rejected = found.get_column("_pos").unique() if len(found) else pl.Series("_pos", [], pl.UInt32)
    good = data.filter(~pl.col("_pos").is_in(rejected.implode())) if len(rejected) else data

    before = len(good)
    if not _in_order(good):
        good = good.sort(["_batch", "_synced_at", "_pos"])
    good = good.filter(pl.struct(_key_source(k) for k in contract.key).is_last_distinct())
    out = good.select(
        pl.col("_account_id").alias("account_id"),
        *contract.column_names,
        pl.col("_run_id"),
        pl.col("_synced_at"),
    )
    if contract.history == "scd2":
        hashed = [c.name for c in contract.columns if not c.evolved and c.name not in contract.hash_exclude]
        optional = [c.name for c in contract.columns if c.evolved]
        out = out.with_columns(keys.row_hash(out, ["account_id", *hashed], optional))
    positions = frozenset(rejected.to_list())
    return TableResult(out, rejects, changes, contract, len(rejected), before - len(good), positions)


def _in_order(data: pl.DataFrame) -> bool:
    """Whether rows are already ordered by (batch, fetched_at, position), as a sync's batch nearly
    always is (pages arrive in fetch order): then the sort before deduplication can be skipped."""
    if len(data) < 2:
        return True
    batch = pl.col("_batch").diff()
    later = pl.col("_synced_at").diff() >= pl.duration(microseconds=0)
    # ``_pos`` is a row index, and filtering keeps order: it is ascending already.
    return bool(data.select(((batch > 0) | ((batch == 0) & later)).slice(1).all()).item())


def _key_source(name: str) -> str:
    return "_account_id" if name == "account_id" else name


COLUMN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
# Columns schema drift may add to one table, ever. A payload flooding new fields (thousands of keys)
# would otherwise widen the table, and its history, without bound (1,000 new fields in one batch ran
# the loader out of memory); fields beyond the cap are discarded, their values kept in raw.pages.
MAX_EVOLVED_COLUMNS = 100


def _drift(
    contract: Contract, records: Sequence[Any], seen: set[str], stream: str
) -> tuple[Contract, list[SchemaChange], list[str]]:
    unknown = sorted(seen - contract.known_fields - set(contract.column_names))
    # DuckDB's column names ignore case: "Email" beside "email", or a second "NewCol" beside "newcol",
    # would be the same column. Our own columns (history's "valid_from"...) are taken too.
    taken = {n.lower() for n in (*contract.known_fields, *contract.column_names, *HISTORY_COLUMNS)}
    changes = []
    added: list[tuple[str, str]] = []
    room = MAX_EVOLVED_COLUMNS - sum(1 for c in contract.columns if c.evolved)
    nested = frames.nested_fields(records) if unknown else set()
    for name in unknown:
        mode = contract.drift
        if mode == "evolve" and (not COLUMN_NAME.fullmatch(name) or name.lower() in taken):
            # Not a name a column can take ("*", "^a.*$", "_pos" would clash with our own columns, "ID"
            # with "id"): the field is recorded as discarded; its values stay in raw.pages.
            mode = "discard"
        if mode == "evolve" and len(added) >= room:
            mode = "discard"  # the table has all the drift columns it may have
        kind = "JSON" if name in nested else "VARCHAR"
        changes.append(SchemaChange(contract.table, name, mode, kind, stream))
        if mode == "evolve":
            added.append((name, kind))
            taken.add(name.lower())
    if contract.drift == "evolve" and added:
        contract = contract.with_evolved(added)
    return contract, changes, unknown if contract.drift == "freeze" else []


def _evolved_column(records: Sequence[Any], column: Column) -> pl.Series:
    if column.type == "JSON":
        return pl.Series(column.name, [frames._json(r, column.name) for r in records], dtype=pl.String)
    return frames.loose_text(records, column.name)


def _raw(column: Column, data: pl.DataFrame) -> pl.Expr:
    """The column's text: first non-empty source (record field, then page context), else first non-null."""
    candidates = []
    for source in column.sources:
        for name in (source, f"_ctx_{source}"):
            if name in data.columns:
                candidates.append(pl.col(name).cast(pl.String))
    if column.evolved and column.name in data.columns:
        candidates = [pl.col(column.name)]
    if not candidates:
        return pl.lit(None, dtype=pl.String)
    if len(candidates) == 1:
        return candidates[0]
    return pl.coalesce([c.replace("", None) for c in candidates] + candidates)


def _unparsed(column: Column) -> pl.Expr:
    raw = pl.col(f"__raw_{column.name}")
    return raw.is_not_null() & (raw != "") & pl.col(column.name).is_null()


def _typed(column: Column, raw: pl.Expr, keyed: frozenset[str], *, fast: bool = False) -> pl.Expr:
    dtype = POLARS_TYPES[column.type]
    kind = column.type
    value = raw.replace("", None)
    if kind in ("VARCHAR", "JSON"):
        # Zoom's sources disagree on "no value": REST omits a field, GraphQL returns "" (and REST itself
        # sends "" for a guest's id). One meaning in the warehouse: NULL. Composite key parts keep text.
        return raw if column.name in keyed else value
    if kind == "TIMESTAMPTZ":
        return parse.timestamp(value, fast=fast)
    if kind == "DATE":
        return parse.day(value)
    if kind == "BOOLEAN":
        return parse.boolean(value)
    if kind == "DOUBLE":
        return parse.number(value)
    if column.unit:
        return parse.integer(value, dtype) if fast else parse.duration(value, column.unit, dtype)
    return parse.integer(value, dtype)


def _participant_key(data: pl.DataFrame, column: Column) -> pl.Series:
    empty = pl.Series([None] * len(data), dtype=pl.String)

    def text(name: str | None) -> pl.Series:
        return data.get_column(name).cast(pl.String) if name and name in data.columns else empty

    sources = [*column.sources, None, None]
    return keys.participant_key(text(sources[0]), text(sources[1]), text("name"), text("user_email")).alias(
        column.name
    )


def _checks(column: Column) -> list[tuple[pl.Expr, str]]:
    """(mask, reason) pairs: the rows whose value in ``column`` is a reject, and why."""
    raw = pl.col(f"__raw_{column.name}")
    typed = pl.col(column.name)
    checks = []
    if column.type not in ("VARCHAR", "JSON"):
        unparsed = raw.is_not_null() & (raw != "") & typed.is_null()
        checks.append(
            (unparsed, f"cannot read as {column.type}" + (f" ({column.unit})" if column.unit else ""))
        )
        if not column.nullable:
            checks.append((typed.is_null() & ~unparsed, "missing required value"))
    elif not column.nullable:
        checks.append((typed.is_null(), "missing required value"))
    return checks


def _problems(column: Column, data: pl.DataFrame, checks: list[tuple[pl.Expr, str]]) -> pl.DataFrame | None:
    raw = pl.col(f"__raw_{column.name}")
    out = [
        data.filter(mask).select(
            "_pos",
            pl.lit(column.name).alias("column_name"),
            raw.alias("value"),
            pl.lit(reason).alias("reason"),
        )
        for mask, reason in checks
    ]
    return pl.concat(out) if out else None


def _bad_values(bad: list[frames.BadValue], contract: Contract, data: pl.DataFrame) -> pl.DataFrame | None:
    if not bad:
        return None
    owner = {s: c.name for c in contract.columns for s in c.sources}
    return pl.DataFrame(
        {
            "_pos": [b.row for b in bad],
            "column_name": [owner.get(b.field, b.field) for b in bad],
            "value": [b.value for b in bad],
            "reason": [b.reason for b in bad],
        },
        schema={"_pos": pl.UInt32, "column_name": pl.String, "value": pl.String, "reason": pl.String},
    )


def _frozen(fields: list[str], records: Sequence[Any], data: pl.DataFrame) -> pl.DataFrame | None:
    rows: list[tuple[int, str, str]] = []
    for name in fields:
        for i, record in enumerate(records):
            if isinstance(record, dict) and name in record:
                rows.append((i, name, frames.payload(record[name])))
    if not rows:
        return None
    return pl.DataFrame(
        {
            "_pos": [r[0] for r in rows],
            "column_name": [r[1] for r in rows],
            "value": [r[2] for r in rows],
            "reason": ["field not in the contract (drift mode freeze)"] * len(rows),
        },
        schema={"_pos": pl.UInt32, "column_name": pl.String, "value": pl.String, "reason": pl.String},
    )


def _reject_frame(
    found: pl.DataFrame, table: str, records: Sequence[Any], data: pl.DataFrame, stream: str
) -> pl.DataFrame:
    if not len(found):
        return pl.DataFrame(schema=REJECT_SCHEMA)
    found = found.sort("_pos", maintain_order=True)
    meta = data.select("_pos", "_run_id", "_account_id")
    joined = found.join(meta, on="_pos", how="left", maintain_order="left")
    payloads = [frames.payload(records[i]) for i in joined.get_column("_pos").to_list()]
    return joined.select(
        pl.lit(table).alias("table_name"),
        "column_name",
        "value",
        "reason",
        pl.Series("payload", payloads, dtype=pl.String),
        pl.col("_run_id").alias("run_id"),
        pl.col("_account_id").alias("account_id"),
        pl.lit(stream).alias("stream"),
    )
