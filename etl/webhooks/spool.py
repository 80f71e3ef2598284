"""The spool: every verified Zoom event as one file, written durably before the receiver answers 200.

Why files, one per event, and not a table of the warehouse or a SQLite file: the receiver must never wait
for the warehouse's writer lock (a sync may hold it for minutes while Zoom gives us three seconds), and
several receiver processes (uvicorn workers, a second host on shared storage) must be able to write at
once without a lock of their own. A file per event gets both from the file system alone:

- written to ``.tmp/``, ``fsync``\\ ed, then ``os.link``\\ ed to its final name and the directory
  ``fsync``\\ ed: a reader sees a whole entry or none, and a crash after the 200 loses nothing;
- the final name is derived from the event's id (``event_id``), and ``link`` refuses an existing name,
  so a duplicate delivery of the same event is stored once, atomically, whoever wrote it first;
- the sync lists the directory, loads the entries into ``zoom.events`` and removes each one only after
  its effect is committed in the warehouse (``remove``): a crash in between re-reads it, idempotently.

A file that cannot be read as an entry (written by hand, truncated by a disk error) is moved to ``bad/``
and reported, never silently dropped.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from etl.durable import fsync_directory

log = logging.getLogger(__name__)

SUFFIX = ".json"


def event_id(body: Mapping[str, Any]) -> str:
    """A stable id for one Zoom event, the same on every delivery and retry of it.

    Zoom's body has no event id; ``x-zm-trackingid`` is not documented to survive retries. The id hashes
    what identifies the occurrence: the event name, its ``event_ts`` (milliseconds), the account and the
    object's key (``uuid``, else ``id``), plus the participant's key and time for participant events.
    Two ``recording.completed`` deliveries that differ only in their download URL and token (a known Zoom
    behaviour) get the same id and are stored once.
    """
    payload = body.get("payload") if isinstance(body.get("payload"), Mapping) else {}
    assert isinstance(payload, Mapping)
    obj = payload.get("object") if isinstance(payload.get("object"), Mapping) else {}
    assert isinstance(obj, Mapping)
    parts = [
        str(body.get("event", "")),
        str(body.get("event_ts", "")),
        str(payload.get("account_id", "")),
        str(obj.get("uuid") or obj.get("id") or ""),
    ]
    participant = obj.get("participant")
    if isinstance(participant, Mapping):
        parts += [
            str(participant.get("participant_uuid") or participant.get("user_id") or ""),
            str(participant.get("join_time") or participant.get("leave_time") or ""),
        ]
    return hashlib.blake2b("\x00".join(parts).encode(), digest_size=12).hexdigest()


@dataclass(frozen=True, slots=True)
class Entry:
    """One spooled event: Zoom's body as received (parsed) and what the receiver knew of its delivery."""

    path: Path
    id: str
    event: str
    event_ts: int  # milliseconds since the epoch, Zoom's
    received_at: datetime
    body: dict[str, Any]
    tracking_id: str = ""

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.event_ts / 1000, UTC)


class Spool:
    """A spool directory; cheap to create, safe to share between processes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._tmp = directory / ".tmp"
        self._bad = directory / "bad"

    def ensure(self) -> None:
        self._tmp.mkdir(parents=True, exist_ok=True)

    def put(
        self, body: Mapping[str, Any], *, received_at: datetime, tracking_id: str = ""
    ) -> tuple[str, bool]:
        """Store one verified event durably; returns ``(id, stored)``: stored False for a duplicate."""
        self.ensure()
        ident = event_id(body)
        ts = body.get("event_ts")
        millis = int(ts) if isinstance(ts, int | float) and not isinstance(ts, bool) else 0
        final = self.directory / f"{millis:013d}-{ident}{SUFFIX}"
        if final.exists():
            return ident, False
        record = {
            "id": ident,
            "event": str(body.get("event", "")),
            "event_ts": millis,
            "received_at": received_at.astimezone(UTC).isoformat(),
            "tracking_id": tracking_id,
            "body": body,
        }
        tmp = self._tmp / f"{ident}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, orjson.dumps(record))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, final)  # atomic, and refuses an existing name: a racing duplicate loses here
            stored = True
        except FileExistsError:
            stored = False
        finally:
            tmp.unlink()
        if stored:
            fsync_directory(self.directory)
        return ident, stored

    def entries(self) -> list[Entry]:
        """Every entry waiting, oldest event first (unreadable files are moved to ``bad/``)."""
        if not self.directory.is_dir():
            return []
        found: list[Entry] = []
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            try:
                data = orjson.loads(path.read_bytes())
                found.append(
                    Entry(
                        path,
                        str(data["id"]),
                        str(data["event"]),
                        int(data["event_ts"]),
                        datetime.fromisoformat(str(data["received_at"])),
                        dict(data["body"]),
                        str(data.get("tracking_id") or ""),
                    )
                )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self._bad.mkdir(parents=True, exist_ok=True)
                os.replace(path, self._bad / path.name)
                log.warning("spool entry %s is unreadable (%s): moved to %s", path.name, exc, self._bad)
        return found

    def remove(self, entry: Entry) -> None:
        """Forget an entry whose effect is committed in the warehouse."""
        entry.path.unlink(missing_ok=True)

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob(f"*{SUFFIX}")) if self.directory.is_dir() else 0
