"""Table contracts: what every warehouse table looks like, loaded from ``schemas/tables/<table>.toml``.

A contract is the single source of truth for a table: its columns (DuckDB type, the record fields that
feed it, nullability, unit, description), its primary key, where its rows come from (a stream's records,
or an array nested in a parent's records), whether it keeps SCD2 history, and what happens to fields the
contract does not know (drift mode), and the facts other stages need about a table: its ``time_column``
(a fact table's natural time: export partitions by its day, and a keyed child's unfinished parent keys
are retried by it) and its ``parent_key`` (the column that holds the key of the parent record the rows
were fetched for: ``meeting_uuid`` of a participant). ``kind`` says whether a table is a ``fact``
(events in time, which should name its time column: tests/test_registry.py checks the product's) or a
``dimension`` (things as last seen); the default is ``dimension`` for SCD2 tables and ``fact`` otherwise.
Normalization builds Polars frames from it, the warehouse builds its DDL from it, and the data dictionary
prints it; nothing infers a type from the data.

Every table also gets ``account_id`` (first column of every primary key), ``_run_id`` and ``_synced_at``;
contracts do not declare them. ``_synced_at`` is the ``fetched_at`` of the page the row came from, so a
rebuild from raw payloads reproduces it exactly.

Column types and how a record value becomes one:

    VARCHAR      text as given (numbers and booleans keep their JSON spelling)
    BIGINT/INTEGER  integers, also from numeric strings ("97891943927"); with ``unit`` seconds or
                 minutes, Zoom's "mm:ss" / "h:mm:ss" strings are accepted and converted to that unit
    DOUBLE       numbers
    BOOLEAN      true/false
    DATE         "YYYY-MM-DD"
    TIMESTAMPTZ  every Zoom format, stored in UTC (see ``etl.normalize.parse``)
    JSON         any JSON value, stored as its JSON text
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from etl.errors import ContractError
from etl.resources import CONTRACTS

TYPES = ("VARCHAR", "BIGINT", "INTEGER", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMPTZ", "JSON")
DERIVATIONS = ("participant_key", "recording_file_id")
UNITS = ("seconds", "minutes")
HISTORY_MODES = ("none", "scd2")
DRIFT_MODES = ("evolve", "freeze", "discard")
SYSTEM_COLUMNS = ("account_id", "_run_id", "_synced_at")
HISTORY_COLUMNS = ("valid_from", "valid_to", "is_current", "_row_hash")
DEFAULT_DIR = CONTRACTS

History = Literal["none", "scd2"]
Drift = Literal["evolve", "freeze", "discard"]
Kind = Literal["fact", "dimension"]
KINDS = ("fact", "dimension")


@dataclass(frozen=True, slots=True)
class Column:
    """One column: ``sources`` are record fields (or page context keys), first non-empty wins."""

    name: str
    type: str
    sources: tuple[str, ...]
    nullable: bool = True
    description: str = ""
    unit: str | None = None  # seconds | minutes, for durations
    derive: str | None = None  # computed from other fields where Zoom gives none: see etl.normalize.keys
    evolved: bool = False  # added at run time by schema drift (evolve), not declared in the file


@dataclass(frozen=True, slots=True)
class Contract:
    """One table's contract; ``path`` is the file it came from (named in every error)."""

    table: str
    description: str
    stream: str
    primary_key: tuple[str, ...]  # without account_id, which always comes first
    columns: tuple[Column, ...]
    history: History = "none"
    drift: Drift = "evolve"
    parent: str | None = None  # child table: rows come from an array in the parent's records
    parent_field: str | None = None  # the array's field name in the parent record
    parent_keys: dict[str, str] = field(default_factory=dict)  # child column -> parent record field
    ignore: tuple[str, ...] = ()  # record fields deliberately not stored (secrets, duplicates)
    hash_exclude: tuple[str, ...] = ()  # SCD2: columns whose changes alone make no new version
    kind: Kind = "fact"
    time_column: str | None = None  # a fact's natural time (export partitions, pending-key retries)
    parent_key: str | None = None  # the column holding the key of the parent record rows were fetched for
    path: Path | None = None

    @property
    def key(self) -> tuple[str, ...]:
        """The full primary key, ``account_id`` first."""
        return ("account_id", *self.primary_key)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def known_fields(self) -> frozenset[str]:
        """Record fields this contract reads or deliberately ignores; anything else is drift."""
        names = {s for c in self.columns for s in c.sources}
        names.update(self.ignore)
        names.update(SYSTEM_COLUMNS)  # e.g. a recording's own account_id: the page's account_id wins
        return frozenset(names)

    @property
    def history_table(self) -> str | None:
        return f"{self.table}_history" if self.history == "scd2" else None

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def with_evolved(self, columns: list[tuple[str, str]]) -> Contract:
        """This contract plus columns added by schema drift, as ``(name, type)`` pairs."""
        have = set(self.column_names)
        extra = tuple(
            Column(name=name, type=type_, sources=(name,), evolved=True, description="added by schema drift")
            for name, type_ in columns
            if name not in have
        )
        return replace(self, columns=self.columns + extra) if extra else self


def _fail(path: Path, where: str, message: str) -> ContractError:
    return ContractError(f"{path.name}: {where}: {message}")


def _str(data: dict[str, Any], key: str, path: Path, where: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value:
        raise _fail(path, f"{where}.{key}" if where else key, "must be a non-empty string")
    return value


def _str_list(data: dict[str, Any], key: str, path: Path, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _fail(path, f"{where}.{key}" if where else key, "must be a string or a list of strings")
    return tuple(value)


def _column(data: Any, path: Path, index: int) -> Column:
    if not isinstance(data, dict):
        raise _fail(path, f"columns[{index}]", "must be a table")
    where = f"columns[{index}]"
    name = _str(data, "name", path, where)
    where = f"column {name!r}"
    type_ = _str(data, "type", path, where).upper()
    if type_ not in TYPES:
        raise _fail(path, f"{where}.type", f"{type_!r} is not one of {', '.join(TYPES)}")
    derive = data.get("derive")
    if derive is not None and derive not in DERIVATIONS:
        raise _fail(path, f"{where}.derive", f"{derive!r} is not one of {', '.join(DERIVATIONS)}")
    sources = _str_list(data, "source", path, where) if "source" in data else (name,)
    if derive is None and not sources:
        raise _fail(path, f"{where}.source", "needs at least one field")
    if any("." in s for s in sources):
        raise _fail(path, f"{where}.source", "nested paths are not supported; name top-level fields")
    unit = data.get("unit")
    if unit is not None and (unit not in UNITS or type_ not in ("BIGINT", "INTEGER")):
        raise _fail(path, f"{where}.unit", f"must be one of {', '.join(UNITS)} on an integer column")
    nullable = data.get("nullable", True)
    if not isinstance(nullable, bool):
        raise _fail(path, f"{where}.nullable", "must be true or false")
    description = data.get("description", "")
    if not isinstance(description, str) or not description:
        raise _fail(path, f"{where}.description", "must be a non-empty string (it feeds the data dictionary)")
    unknown = set(data) - {"name", "type", "source", "nullable", "description", "unit", "derive"}
    if unknown:
        raise _fail(path, where, f"unknown keys {sorted(unknown)}")
    return Column(name, type_, sources, nullable, description, unit, derive)


def parse_contract(data: dict[str, Any], path: Path) -> Contract:
    """Validate one contract's TOML data; every error names the file and the field."""
    table = _str(data, "table", path, "")
    if table != path.stem:
        raise _fail(path, "table", f"{table!r} must match the file name {path.stem!r}")
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, list) or not raw_columns:
        raise _fail(path, "columns", "must be a non-empty array of tables")
    columns = tuple(_column(c, path, i) for i, c in enumerate(raw_columns))
    names = [c.name for c in columns]
    for name in names:
        if names.count(name) > 1:
            raise _fail(path, f"column {name!r}", "declared twice")
        if name in SYSTEM_COLUMNS or name in HISTORY_COLUMNS:
            raise _fail(path, f"column {name!r}", "is a system column, added to every table")
    primary_key = _str_list(data, "primary_key", path, "")
    if not primary_key:
        raise _fail(path, "primary_key", "must name at least one column")
    for key in primary_key:
        if key not in names:
            raise _fail(path, "primary_key", f"{key!r} is not a column")
        if columns[names.index(key)].nullable:
            raise _fail(path, f"column {key!r}", "is part of the primary key and must be nullable = false")
    history = data.get("history", "none")
    if history not in HISTORY_MODES:
        raise _fail(path, "history", f"{history!r} is not one of {', '.join(HISTORY_MODES)}")
    drift = data.get("drift", "evolve")
    if drift not in DRIFT_MODES:
        raise _fail(path, "drift", f"{drift!r} is not one of {', '.join(DRIFT_MODES)}")
    parent = data.get("parent")
    parent_field = data.get("parent_field")
    parent_keys = data.get("parent_keys", {})
    if (parent is None) != (parent_field is None):
        raise _fail(path, "parent", "parent and parent_field go together")
    if not isinstance(parent_keys, dict) or not all(isinstance(v, str) for v in parent_keys.values()):
        raise _fail(path, "parent_keys", "must map column names to parent record fields")
    for column in parent_keys:
        if column not in names:
            raise _fail(path, "parent_keys", f"{column!r} is not a column")
    hash_exclude = _str_list(data, "hash_exclude", path, "")
    for name in hash_exclude:
        if name not in names or history != "scd2":
            raise _fail(path, "hash_exclude", f"{name!r} must be a column of an scd2 table")
    kind = data.get("kind", "dimension" if history == "scd2" else "fact")
    if kind not in KINDS:
        raise _fail(path, "kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    time_column = data.get("time_column")
    parent_key = data.get("parent_key")
    for field_name, value in (("time_column", time_column), ("parent_key", parent_key)):
        if value is not None and value not in names:
            raise _fail(path, field_name, f"{value!r} is not a column")
    unknown = set(data) - {
        "kind",
        "time_column",
        "parent_key",
        "table",
        "description",
        "stream",
        "primary_key",
        "columns",
        "history",
        "drift",
        "parent",
        "parent_field",
        "parent_keys",
        "ignore",
        "hash_exclude",
    }
    if unknown:
        raise _fail(path, "", f"unknown keys {sorted(unknown)}")
    return Contract(
        table=table,
        description=_str(data, "description", path, ""),
        stream=_str(data, "stream", path, "", default=parent or table),
        primary_key=primary_key,
        columns=columns,
        history=history,
        drift=drift,
        parent=parent,
        parent_field=parent_field,
        parent_keys=dict(parent_keys),
        ignore=_str_list(data, "ignore", path, ""),
        hash_exclude=hash_exclude,
        kind=kind,
        time_column=time_column,
        parent_key=parent_key,
        path=path,
    )


def load_contract(path: Path) -> Contract:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ContractError(f"{path.name}: not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ContractError(f"{path.name}: cannot be read: {exc}") from exc
    return parse_contract(data, path)


def load_contracts(directory: Path | None = None) -> dict[str, Contract]:
    """Every contract in ``directory`` (default ``schemas/tables``), by table name, parents checked."""
    directory = directory or DEFAULT_DIR
    contracts = {c.table: c for c in map(load_contract, sorted(directory.glob("*.toml")))}
    if not contracts:
        raise ContractError(f"{directory}: no table contracts found")
    for contract in contracts.values():
        if contract.parent is not None:
            parent = contracts.get(contract.parent)
            assert contract.path is not None
            if parent is None:
                raise _fail(contract.path, "parent", f"{contract.parent!r} is not a table")
            if contract.parent_field not in parent.ignore:
                raise _fail(contract.path, "parent_field", f"must be listed in {parent.table}.toml ignore")
    return contracts


def column_ddl(column: Column) -> str:
    null = "" if column.nullable else " NOT NULL"
    return f"{quote(column.name)} {column.type}{null}"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_ddl(contract: Contract, schema: str = "zoom") -> list[str]:
    """``CREATE TABLE IF NOT EXISTS`` statements for the table and, with SCD2, its history table.

    No ``PRIMARY KEY`` constraint: DuckDB keeps a key's ART index in memory (it grows with the table)
    and pays for it on every insert (4x slower loads of participants). The key is enforced by the
    loader instead, set-based (``etl.load.upsert``): normalize deduplicates each batch, and the load
    deletes the stored rows with the batch's keys before inserting it. Key columns are NOT NULL, and
    the key is named in the table's comment for people reading the catalog."""
    body = [
        "account_id VARCHAR NOT NULL",
        *(column_ddl(c) for c in contract.columns),
        "_run_id VARCHAR NOT NULL",
        "_synced_at TIMESTAMPTZ NOT NULL",
    ]
    statements = [f"CREATE TABLE IF NOT EXISTS {schema}.{contract.table} (\n  " + ",\n  ".join(body) + "\n)"]
    if contract.history_table:
        history = [
            *body,
            "valid_from TIMESTAMPTZ NOT NULL",
            "valid_to TIMESTAMPTZ",
            "is_current BOOLEAN NOT NULL",
            "_row_hash VARCHAR NOT NULL",
        ]
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {schema}.{contract.history_table} (\n  "
            + ",\n  ".join(history)
            + "\n)"
        )
        statements.append(
            f"CREATE OR REPLACE MACRO {schema}.{contract.table}_as_of(ts) AS TABLE "
            f"SELECT * EXCLUDE (valid_from, valid_to, is_current, _row_hash) "
            f"FROM {schema}.{contract.history_table} "
            f"WHERE valid_from <= ts AND (valid_to IS NULL OR valid_to > ts)"
        )
    key = ", ".join(contract.key)
    statements.append(
        f"COMMENT ON TABLE {schema}.{contract.table} IS "
        + sql_text(f"{contract.description} Key (enforced by the loader): {key}.")
    )
    if contract.history_table:
        statements.append(
            f"COMMENT ON TABLE {schema}.{contract.history_table} IS "
            + sql_text(f"SCD2 history of {contract.table}. Key: {key}, valid_from.")
        )
    return statements


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
