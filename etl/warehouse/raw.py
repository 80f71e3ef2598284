"""Raw landing: every page's records as JSON text in ``raw.pages``, so tables can be rebuilt offline.

Pages land in the same transaction as the rows made from them, numbered by batch (the load
transaction) and position, which is the order ``rebuild`` replays them in.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson
import polars as pl

from etl.records import Page
from etl.warehouse.connection import scalar


def land(conn: duckdb.DuckDBPyConnection, pages: Sequence[Page], run_id: str, batch_seq: int) -> int:
    """Insert the pages of one batch; returns how many landed."""
    if not pages:
        return 0
    frame = pl.DataFrame(
        {
            "batch_seq": pl.Series([batch_seq] * len(pages), dtype=pl.Int64),
            "page_no": pl.Series(range(len(pages)), dtype=pl.Int32),
            "run_id": pl.Series([run_id] * len(pages), dtype=pl.String),
            "stream": [p.stream for p in pages],
            "account_id": [p.account_id for p in pages],
            "source": [p.source for p in pages],
            "request": [p.request for p in pages],
            "fetched_at": pl.Series([_utc(p.fetched_at) for p in pages], dtype=pl.Datetime("us", "UTC")),
            "context": pl.Series(
                [orjson.dumps(p.context).decode() if p.context else None for p in pages], dtype=pl.String
            ),
            "record_count": pl.Series([len(p.records) for p in pages], dtype=pl.Int32),
            "records": pl.Series([orjson.dumps(p.records).decode() for p in pages], dtype=pl.String),
        }
    )
    conn.register("_raw_stage", frame)
    try:
        conn.execute("INSERT INTO raw.pages BY NAME SELECT * FROM _raw_stage")
    finally:
        conn.unregister("_raw_stage")
    return len(pages)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class RawPage:
    """A landed page, with what it needs to be replayed exactly."""

    batch_seq: int
    run_id: str
    page: Page


def replay(conn: duckdb.DuckDBPyConnection, streams: Sequence[str], fetch: int = 200) -> Iterator[RawPage]:
    """Landed pages of ``streams`` in landing order, decoded, ``fetch`` pages at a time."""
    placeholders = ", ".join("?" for _ in streams)
    catalog = scalar(conn, "SELECT current_database()")
    cursor = conn.cursor()
    cursor.execute(f'USE "{catalog}"')
    cursor.execute("SET TimeZone = 'UTC'")
    cursor.execute(
        "SELECT batch_seq, run_id, stream, account_id, source, request, fetched_at, context, records"
        f" FROM raw.pages WHERE stream IN ({placeholders}) ORDER BY batch_seq, page_no",
        list(streams),
    )
    while rows := cursor.fetchmany(fetch):
        for batch_seq, run_id, stream, account_id, source, request, fetched_at, context, records in rows:
            ctx: dict[str, Any] = orjson.loads(context) if context else {}
            page = Page(stream, account_id, source, request, fetched_at, orjson.loads(records), ctx)
            yield RawPage(batch_seq, run_id, page)
    cursor.close()
