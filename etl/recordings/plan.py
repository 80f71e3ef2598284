"""Which recording files a run downloads: those of synced recordings (``zoom.recording_files``), filtered
by ``--types``, ``--since`` and ``--hosts``, less the ones the inventory holds complete and still on disk.

Every file type Zoom lists is downloaded by default (an archive wants all of them: video, audio,
transcript, captions, chat, timeline...); ``--types`` narrows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb


@dataclass(frozen=True, slots=True)
class FileRow:
    file_id: str
    meeting_uuid: str
    file_type: str
    file_extension: str
    file_size: int | None
    recording_start: datetime | None
    host_id: str
    host: str  # email where the users table knows it, else host_id
    topic: str
    start_time: datetime | None


@dataclass(frozen=True, slots=True)
class Held:
    """What the inventory says of one file."""

    status: str
    path: str | None
    bytes: int | None
    attempts: int


def wanted_files(
    conn: duckdb.DuckDBPyConnection,
    account_id: str,
    *,
    types: frozenset[str] | None,
    since: date | None,
    hosts: tuple[str, ...],
) -> list[FileRow]:
    sql = """
        SELECT f.id, f.meeting_uuid, upper(f.file_type), coalesce(f.file_extension, ''), f.file_size,
               f.recording_start, r.host_id, coalesce(u.email, r.host_id, ''), coalesce(r.topic, ''),
               r.start_time
        FROM zoom.recording_files f
        JOIN zoom.recordings r ON r.account_id = f.account_id AND r.meeting_uuid = f.meeting_uuid
        LEFT JOIN zoom.users u ON u.account_id = r.account_id AND u.id = r.host_id
        WHERE f.account_id = ? AND f.deleted_time IS NULL
    """
    params: list[object] = [account_id]
    if types:
        sql += f" AND upper(f.file_type) IN ({', '.join('?' for _ in types)})"
        params += sorted(types)
    if since is not None:
        sql += " AND r.start_time >= ?"
        params.append(datetime(since.year, since.month, since.day))
    if hosts:
        marks = ", ".join("?" for _ in hosts)
        sql += f" AND (r.host_id IN ({marks}) OR lower(u.email) IN ({marks}))"
        params += list(hosts) + [h.lower() for h in hosts]
    sql += " ORDER BY r.start_time, f.meeting_uuid, f.id"
    return [FileRow(*row) for row in conn.execute(sql, params).fetchall()]


def inventory(conn: duckdb.DuckDBPyConnection, account_id: str) -> dict[str, Held]:
    rows = conn.execute(
        "SELECT file_id, status, path, bytes, coalesce(attempts, 0) FROM zoom.recording_downloads"
        " WHERE account_id = ?",
        [account_id],
    ).fetchall()
    return {r[0]: Held(r[1], r[2], r[3], r[4]) for r in rows}


def still_complete(held: Held | None, out: Path) -> bool:
    """Complete in the inventory, and the file is on disk with that many bytes."""
    if held is None or held.status != "complete" or not held.path:
        return False
    path = out / held.path
    return path.is_file() and path.stat().st_size == held.bytes


def unread(conn: duckdb.DuckDBPyConnection, account_id: str) -> set[str]:
    """Complete TRANSCRIPT, CC and CHAT files with no rows and no reject: downloaded with ``--no-parse``."""
    rows = conn.execute(
        """
        SELECT d.file_id FROM zoom.recording_downloads d
        WHERE d.account_id = ? AND d.status = 'complete' AND d.file_type IN ('TRANSCRIPT', 'CC', 'CHAT')
          AND NOT EXISTS (SELECT 1 FROM zoom.transcript_segments s
                          WHERE s.account_id = d.account_id AND s.file_id = d.file_id)
          AND NOT EXISTS (SELECT 1 FROM zoom.chat_messages c
                          WHERE c.account_id = d.account_id AND c.file_id = d.file_id)
          AND NOT EXISTS (SELECT 1 FROM _etl.rejects r WHERE r.stream = 'recordings download'
                          AND json_extract_string(r.payload, '$.file_id') = d.file_id)
        """,
        [account_id],
    ).fetchall()
    return {r[0] for r in rows}
