"""Raw landing: every page's records, compressed, in ``raw.pages``, so tables can be rebuilt offline.

Pages land in the same transaction as the rows made from them, numbered by batch (the load
transaction) and position, which is the order ``rebuild`` replays them in.

Why compressed bytes and not JSON text: storing each page as a large VARCHAR made loads 4x slower
(DuckDB writes the text uncompressed to its WAL, then compresses it again at checkpoint), and the raw
archive outgrew the tables. A page is one JSON array (orjson's exact bytes), zstd-compressed by Arrow's
codec (about 11:1 on participant pages, and it releases the GIL); ``rebuild`` decompresses and parses the
very same bytes, so replayed records are identical to the fetched ones. Warehouses from before this
layout keep their old rows as codec ``json`` (see ``ddl.migrate_raw``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import duckdb
import orjson
import polars as pl
import pyarrow as pa

from etl.errors import WarehouseError
from etl.records import Page, Unreadable
from etl.warehouse.connection import scalar

CODEC = "zstd"
_ZSTD = pa.Codec("zstd", 1)


UNREADABLE_KEY = "__etl_unreadable__"
_UNREADABLE_BYTES = f'"{UNREADABLE_KEY}"'.encode()


def _landed(value: Any) -> Any:
    """orjson's ``default`` for subclasses of JSON types: an ``Unreadable`` record lands as a marker object
    that ``decode`` turns back into one (so ``rebuild`` rejects it as the sync did); any other subclass
    lands as its base type."""
    if isinstance(value, Unreadable):
        return {UNREADABLE_KEY: {"reason": value.reason, "payload": str(value)}}
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    raise TypeError(f"cannot land a {type(value).__name__}")


def encode(records: list[dict[str, Any]]) -> tuple[bytes, int]:
    """A page's records → (zstd-compressed JSON array, size of the JSON)."""
    text = orjson.dumps(records, default=_landed, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    return _ZSTD.compress(text, asbytes=True), len(text)


def decode(blob: bytes, codec: str, json_bytes: int | None) -> list[dict[str, Any]]:
    """The records of a landed page, exactly as they were fetched."""
    if codec == "zstd":
        if json_bytes is None:
            raise WarehouseError("raw.pages: a zstd page has no json_bytes")
        blob = _ZSTD.decompress(blob, decompressed_size=json_bytes, asbytes=True)
    elif codec != "json":
        raise WarehouseError(f"raw.pages: unknown codec {codec!r}")
    records: list[dict[str, Any]] = orjson.loads(blob)
    if _UNREADABLE_BYTES in blob:  # rare: a page that carried an unreadable record
        records = [_unlanded(r) for r in records]
    return records


def _unlanded(record: Any) -> Any:
    if isinstance(record, dict) and len(record) == 1 and isinstance(record.get(UNREADABLE_KEY), dict):
        marker = record[UNREADABLE_KEY]
        return Unreadable(str(marker.get("payload", "")), str(marker.get("reason", "unreadable record")))
    return record


@dataclass(frozen=True, slots=True)
class EncodedPages:
    """Pages made ready to land (compressed records and metadata in one frame), numbered later."""

    frame: pl.DataFrame

    def __len__(self) -> int:
        return self.frame.height

    @classmethod
    def empty(cls) -> EncodedPages:
        return cls(pl.DataFrame())

    @classmethod
    def concat(cls, parts: Sequence[EncodedPages]) -> EncodedPages:
        """The pages of ``parts`` in order, renumbered as one batch's pages."""
        frames = [p.frame for p in parts if p.frame.height]
        if not frames:
            return cls.empty()
        frame = pl.concat(frames, how="vertical")
        return cls(frame.with_columns(pl.int_range(frame.height, dtype=pl.Int32).alias("page_no")))


def encode_pages(pages: Sequence[Page]) -> EncodedPages:
    """The CPU work of landing, done apart from the transaction (``BackgroundLoader`` does it on the
    caller's thread, where it holds the GIL anyway, so the loader thread mostly waits on DuckDB)."""
    encoded = [encode(p.records) for p in pages]
    frame = pl.DataFrame(
        {
            "page_no": pl.Series(range(len(pages)), dtype=pl.Int32),
            "stream": pl.Series([p.stream for p in pages], dtype=pl.String),
            "account_id": pl.Series([p.account_id for p in pages], dtype=pl.String),
            "source": pl.Series([p.source for p in pages], dtype=pl.String),
            "request": pl.Series([p.request for p in pages], dtype=pl.String),
            "fetched_at": pl.Series([_utc(p.fetched_at) for p in pages], dtype=pl.Datetime("us", "UTC")),
            "context": pl.Series(
                [orjson.dumps(p.context).decode() if p.context else None for p in pages], dtype=pl.String
            ),
            "record_count": pl.Series([len(p.records) for p in pages], dtype=pl.Int32),
            "records": pl.Series([e[0] for e in encoded], dtype=pl.Binary),
            "codec": pl.Series([CODEC] * len(pages), dtype=pl.String),
            "json_bytes": pl.Series([e[1] for e in encoded], dtype=pl.Int64),
        }
    )
    return EncodedPages(frame)


def land(
    conn: duckdb.DuckDBPyConnection, pages: Sequence[Page] | EncodedPages, run_id: str, batch_seq: int
) -> int:
    """Insert the pages of one batch (as fetched, or already encoded); returns how many landed."""
    if not len(pages):
        return 0
    encoded = pages if isinstance(pages, EncodedPages) else encode_pages(pages)
    conn.register("_raw_stage", encoded.frame)
    try:
        conn.execute(
            "INSERT INTO raw.pages BY NAME SELECT ?::BIGINT AS batch_seq, ? AS run_id, * FROM _raw_stage",
            [batch_seq, run_id],
        )
    finally:
        conn.unregister("_raw_stage")
    return len(encoded)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class RawPage:
    """A landed page as stored, records still compressed: ``rebuild`` holds many pages of several
    streams while it gathers chunks (about 30 bytes a row this way, 2 KB once decoded), and decodes a
    chunk only when it normalizes it. ``page()`` gives back exactly what was fetched."""

    batch_seq: int
    run_id: str
    stream: str
    account_id: str
    source: str
    request: str
    fetched_at: datetime
    context: str | None
    records: bytes
    codec: str
    json_bytes: int | None
    record_count: int

    def page(self) -> Page:
        context: dict[str, Any] = orjson.loads(self.context) if self.context else {}
        records = decode(self.records, self.codec, self.json_bytes)
        return Page(
            self.stream, self.account_id, self.source, self.request, self.fetched_at, records, context
        )


# ``RawPage``'s fields are columns of ``raw.pages``, selected in field order.
_RAW_PAGE_COLUMNS = ", ".join(f.name for f in fields(RawPage))


def replay(
    conn: duckdb.DuckDBPyConnection, streams: Sequence[str], fetch: int = 500, window: int = 16
) -> Iterator[RawPage]:
    """Landed pages of ``streams`` in landing order, ``fetch`` pages at a time. Reads ``window`` batches
    per query, so no query sorts the whole archive at once. Uses its own cursor: the caller's
    connection stays free for writing while pages are read."""
    placeholders = ", ".join("?" for _ in streams)
    where = f"stream IN ({placeholders})"
    catalog = scalar(conn, "SELECT current_database()")
    cursor = conn.cursor()
    try:
        cursor.execute(f'USE "{catalog}"')
        cursor.execute("SET TimeZone = 'UTC'")
        low, high = cursor.execute(
            f"SELECT min(batch_seq), max(batch_seq) FROM raw.pages WHERE {where}", list(streams)
        ).fetchall()[0]
        if low is None:
            return
        for start in range(low, high + 1, window):
            cursor.execute(
                f"SELECT {_RAW_PAGE_COLUMNS} FROM raw.pages"
                f" WHERE {where} AND batch_seq BETWEEN ? AND ? ORDER BY batch_seq, page_no",
                [*streams, start, start + window - 1],
            )
            while rows := cursor.fetchmany(fetch):
                for row in rows:
                    yield RawPage(*row)
    finally:
        cursor.close()
