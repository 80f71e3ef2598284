"""Downloaded TRANSCRIPT, CC and CHAT files as rows of ``zoom.transcript_segments`` / ``zoom.chat_messages``.

A file's rows replace the ones an earlier reading of it left (keyed by ``file_id``), in the caller's
transaction. A file that does not read (not UTF-8, not the format of its type) is ``Unreadable``, and
``reject`` records it in ``_etl.rejects`` with the line at fault: never dropped silently.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from etl.recordings.parse import BadFile, parse_chat, parse_vtt
from etl.recordings.plan import FileRow
from etl.recordings.tables import STREAM


class Unreadable(Exception):
    def __init__(self, table: str, reason: str) -> None:
        super().__init__(reason)
        self.table = table


def table_of(file_type: str) -> str:
    return "chat_messages" if file_type == "CHAT" else "transcript_segments"


def load(conn: Any, path: Path, row: FileRow, account_id: str, run_id: str, now: datetime) -> tuple[str, int]:
    """Parse the file at ``path`` and replace its rows; (table, rows)."""
    table = table_of(row.file_type)
    try:
        text = path.read_bytes().decode("utf-8")
        if row.file_type == "CHAT":
            frame = chat_frame(row, parse_chat(text))
        else:
            frame = segment_frame(row, parse_vtt(text, speakers=row.file_type == "TRANSCRIPT"))
    except (BadFile, UnicodeDecodeError) as exc:
        raise Unreadable(table, f"{row.file_type} file not readable: {exc}"[:500]) from None
    frame = frame.with_columns(
        pl.lit(account_id).alias("account_id"),
        pl.lit(run_id).alias("_run_id"),
        pl.lit(now).alias("_synced_at"),
    )
    conn.execute(f"DELETE FROM zoom.{table} WHERE account_id = ? AND file_id = ?", [account_id, row.file_id])
    conn.register("_rows", frame)
    try:
        conn.execute(f"INSERT INTO zoom.{table} BY NAME SELECT * FROM _rows")
    finally:
        conn.unregister("_rows")
    return table, len(frame)


def reject(conn: Any, exc: Unreadable, rel_path: str, row: FileRow, account_id: str, run_id: str) -> None:
    payload = {"file_id": row.file_id, "meeting_uuid": row.meeting_uuid, "path": rel_path}
    conn.execute(
        "INSERT INTO _etl.rejects (table_name, column_name, value, reason, payload, run_id,"
        " account_id, stream) VALUES (?, NULL, ?, ?, ?, ?, ?, ?)",
        [exc.table, rel_path, str(exc), orjson.dumps(payload).decode(), run_id, account_id, STREAM],
    )


def _at(start: datetime | None, ms: int) -> datetime | None:
    return None if start is None else start + timedelta(milliseconds=ms)


def segment_frame(row: FileRow, cues: list[Any]) -> pl.DataFrame:
    start = row.recording_start
    return pl.DataFrame(
        {
            "file_id": [row.file_id] * len(cues),
            "sequence": [c.sequence for c in cues],
            "meeting_uuid": [row.meeting_uuid] * len(cues),
            "file_type": [row.file_type] * len(cues),
            "start_offset_ms": [c.start_ms for c in cues],
            "end_offset_ms": [c.end_ms for c in cues],
            "start_time": [_at(start, c.start_ms) for c in cues],
            "end_time": [_at(start, c.end_ms) for c in cues],
            "speaker": [c.speaker for c in cues],
            "text": [c.text for c in cues],
        },
        schema={
            "file_id": pl.String,
            "sequence": pl.Int32,
            "meeting_uuid": pl.String,
            "file_type": pl.String,
            "start_offset_ms": pl.Int64,
            "end_offset_ms": pl.Int64,
            "start_time": pl.Datetime("us", "UTC"),
            "end_time": pl.Datetime("us", "UTC"),
            "speaker": pl.String,
            "text": pl.String,
        },
    )


def chat_frame(row: FileRow, lines: list[Any]) -> pl.DataFrame:
    start = row.recording_start
    return pl.DataFrame(
        {
            "file_id": [row.file_id] * len(lines),
            "sequence": [m.sequence for m in lines],
            "meeting_uuid": [row.meeting_uuid] * len(lines),
            "offset_s": [m.offset_s for m in lines],
            "sent_at": [_at(start, m.offset_s * 1000) for m in lines],
            "sender": [m.sender for m in lines],
            "recipient": [m.recipient for m in lines],
            "message": [m.message for m in lines],
        },
        schema={
            "file_id": pl.String,
            "sequence": pl.Int32,
            "meeting_uuid": pl.String,
            "offset_s": pl.Int64,
            "sent_at": pl.Datetime("us", "UTC"),
            "sender": pl.String,
            "recipient": pl.String,
            "message": pl.String,
        },
    )
