"""Pages of any streams → typed frames per table, rejects and schema changes (``normalize``).

Pages are grouped by stream in arrival order; a stream feeds the tables whose contract names it (and
their child tables, whose rows come from an array nested in each parent record). Duplicates within a
batch are resolved here, latest wins: ordered by batch ordinal (only a rebuild sees more than one),
then ``fetched_at``, then position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import polars as pl

from etl.contracts import Contract
from etl.errors import ContractError
from etl.normalize.table import REJECT_SCHEMA, SchemaChange, TableResult, normalize_table
from etl.records import Page


@dataclass(slots=True)
class Normalized:
    """What ``normalize`` hands to the loader: plain frames, nothing tied to a connection."""

    frames: dict[str, pl.DataFrame]  # table -> rows to upsert
    rejects: pl.DataFrame  # columns of REJECT_SCHEMA
    schema_changes: list[SchemaChange]
    contracts: dict[str, Contract]  # contracts as used, including columns that evolve added
    rejected_rows: dict[str, int] = field(default_factory=dict)
    duplicates: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> dict[str, int]:
        return {table: len(frame) for table, frame in self.frames.items()}


def normalize(
    pages: Sequence[Page],
    contracts: Mapping[str, Contract],
    run_id: str | Sequence[str],
    *,
    batch_ordinals: Sequence[int] | None = None,
) -> Normalized:
    """Normalize one batch of pages. ``run_id`` may be one id or one per page (a rebuild replays
    pages of many runs); ``batch_ordinals`` likewise orders pages of several original batches."""
    run_ids = [run_id] * len(pages) if isinstance(run_id, str) else list(run_id)
    ordinals = list(batch_ordinals) if batch_ordinals is not None else [0] * len(pages)
    if len(run_ids) != len(pages) or len(ordinals) != len(pages):
        raise ValueError("run_id and batch_ordinals need one value per page")
    by_stream: dict[str, list[int]] = {}
    for i, page in enumerate(pages):
        by_stream.setdefault(page.stream, []).append(i)
    result = Normalized({}, pl.DataFrame(schema=REJECT_SCHEMA), [], dict(contracts))
    reject_parts = [result.rejects]
    for stream, indexes in by_stream.items():
        roots = [c for c in contracts.values() if c.stream == stream and c.parent is None]
        if not roots:
            raise ContractError(f"no table contract reads stream {stream!r}")
        group = [pages[i] for i in indexes]
        meta = _page_frame(group, [run_ids[i] for i in indexes], [ordinals[i] for i in indexes])
        records: list[Any] = [r for page in group for r in page.records]
        page_of_row = _page_of_row([len(p.records) for p in group])
        for contract in roots:
            parent = normalize_table(contract, records, page_of_row, meta, stream)
            _add(result, reject_parts, parent)
            for child in (c for c in contracts.values() if c.parent == contract.table):
                table, rejects = _children(
                    child, records, page_of_row, meta, stream, parent.rejected_positions
                )
                _add(result, reject_parts, table)
                reject_parts.append(rejects)
    result.rejects = pl.concat(reject_parts, how="vertical")
    return result


def merge(parts: Sequence[Normalized]) -> Normalized:
    """One batch normalized in several parts (in arrival order, each part normalized with the contracts
    the part before it returned) → what ``normalize`` would have made of the whole batch at once:
    frames concatenated, a key that two parts hold kept once (latest wins: ``_synced_at``, then
    arrival), rejects and schema changes gathered, the last part's contracts."""
    if len(parts) == 1:
        return parts[0]
    last = parts[-1]
    rejects = pl.concat([p.rejects for p in parts], how="vertical")
    result = Normalized({}, rejects, [], dict(last.contracts))
    seen: set[tuple[str, str, str]] = set()
    for part in parts:
        for change in part.schema_changes:
            if (change.table, change.column, change.stream) not in seen:
                seen.add((change.table, change.column, change.stream))
                result.schema_changes.append(change)
        for table, count in part.rejected_rows.items():
            result.rejected_rows[table] = result.rejected_rows.get(table, 0) + count
        for table, count in part.duplicates.items():
            result.duplicates[table] = result.duplicates.get(table, 0) + count
    for table in dict.fromkeys(t for p in parts for t in p.frames):
        frames = [p.frames[table] for p in parts if table in p.frames]
        if len(frames) == 1:
            result.frames[table] = frames[0]
            continue
        whole = pl.concat(frames, how="diagonal")
        if not whole.get_column("_synced_at").is_sorted():  # parts arrive in fetch order nearly always
            whole = whole.sort("_synced_at", maintain_order=True)
        kept = whole.filter(pl.struct(result.contracts[table].key).is_last_distinct())
        result.frames[table] = kept
        result.duplicates[table] = result.duplicates.get(table, 0) + len(whole) - len(kept)
    return result


def _add(result: Normalized, reject_parts: list[pl.DataFrame], table: TableResult) -> None:
    assert table.contract is not None
    name = table.contract.table
    result.contracts[name] = table.contract
    previous = result.frames.get(name)
    result.frames[name] = (
        table.frame if previous is None else pl.concat([previous, table.frame], how="diagonal")
    )
    result.schema_changes.extend(table.schema_changes)
    result.rejected_rows[name] = result.rejected_rows.get(name, 0) + table.rejected_rows
    result.duplicates[name] = result.duplicates.get(name, 0) + table.duplicates
    reject_parts.append(table.rejects)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _context_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def _page_frame(pages: Sequence[Page], run_ids: Sequence[str], ordinals: Sequence[int]) -> pl.DataFrame:
    """One row per page: who, which run, when fetched, batch ordinal, the API that served it, and the page
    context as text."""
    columns: dict[str, pl.Series] = {
        "_account_id": pl.Series([p.account_id for p in pages], dtype=pl.String),
        "_run_id": pl.Series(list(run_ids), dtype=pl.String),
        "_synced_at": pl.Series([_utc(p.fetched_at) for p in pages], dtype=pl.Datetime("us", "UTC")),
        "_batch": pl.Series(list(ordinals), dtype=pl.Int64),
        # The API that served the page ("graphql" | "rest"): a contract may name it as ``page_source``.
        "_ctx_page_source": pl.Series([p.source for p in pages], dtype=pl.String),
    }
    keys = sorted({k for p in pages for k in p.context} - {"page_source"})
    for key in keys:
        columns[f"_ctx_{key}"] = pl.Series(
            [_context_text(p.context.get(key)) for p in pages], dtype=pl.String
        )
    return pl.DataFrame(columns)


def _page_of_row(lengths: Sequence[int]) -> pl.Series:
    counts = pl.Series(lengths, dtype=pl.Int64)
    index = pl.int_range(len(lengths), dtype=pl.UInt32, eager=True)
    return index.gather(pl.int_range(len(lengths), eager=True).repeat_by(counts).explode().drop_nulls())


def _children(
    child: Contract,
    parents: Sequence[Any],
    page_of_row: pl.Series,
    meta: pl.DataFrame,
    stream: str,
    rejected: frozenset[int],
) -> tuple[TableResult, pl.DataFrame]:
    """The child table's rows: each element of ``parent_field`` in each parent record, with the
    parent's key fields (``parent_keys``) as per-row context. A rejected parent's items are not rows of
    their own (they would name a parent the table lacks): they wait in its reject's payload."""
    assert child.parent_field is not None
    records: list[Any] = []
    pages: list[int] = []
    keys: dict[str, list[str | None]] = {c: [] for c in child.parent_keys}
    problems: list[tuple[int, Any]] = []
    parent_pages = page_of_row.to_list()
    for i, parent in enumerate(parents):
        if not isinstance(parent, dict) or i in rejected:
            continue
        items = parent.get(child.parent_field)
        if items is None:
            continue
        if not isinstance(items, list):
            problems.append((i, parent))
            continue
        for item in items:
            records.append(item)
            pages.append(parent_pages[i])
            for column, source in child.parent_keys.items():
                keys[column].append(_context_text(parent.get(source)))
    extras = {f"_ctx_{c}": pl.Series(v, dtype=pl.String) for c, v in keys.items()}
    table = normalize_table(child, records, pl.Series(pages, dtype=pl.UInt32), meta, stream, extras)
    rejects = pl.DataFrame(
        [
            {
                "table_name": child.table,
                "column_name": child.parent_field,
                "value": _context_text(parent.get(child.parent_field)),
                "reason": "not an array",
                "payload": orjson.dumps(parent).decode(),
                "run_id": meta.get_column("_run_id")[parent_pages[i]],
                "account_id": meta.get_column("_account_id")[parent_pages[i]],
                "stream": stream,
            }
            for i, parent in problems
        ],
        schema=REJECT_SCHEMA,
    )
    table.rejected_rows += len(problems)
    return table, rejects
