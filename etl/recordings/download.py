"""One download run for one account: the files ``plan`` picks, fetched concurrently, resumably, verified.

Per meeting, its file list is read again (``GET /meetings/{uuid}/recordings``, LIGHT): Zoom makes download
URLs per request, and the fresh list says which files are still processing or gone. Per file:

1. stream into ``<final name>.part`` (``etl.http.files``), resuming from what a killed or failed attempt
   left there (``Range``), up to ``attempts`` tries with backoff; an HTML page is retried once with a fresh
   token, then is a failure;
2. check it: the size Zoom lists (a short or long file is a failure, and the partial file is removed), and
   for MP4 and M4A an ISO media ``ftyp`` box at the start;
3. SHA-256, ``fsync``, atomic rename to the final name, then its inventory row (``zoom.recording_downloads``)
   is committed: the inventory only says complete for a file that is whole on disk. A run killed
   between the rename and the commit finds the final file next time and only checksums it.
4. TRANSCRIPT, CC and CHAT files are parsed into ``zoom.transcript_segments`` / ``zoom.chat_messages``
   (the file's rows replaced); a file that does not parse is recorded in ``_etl.rejects`` (stream
   ``recordings download``) with its path and the line at fault.

Workers (threads, one meeting each) only touch the network and the disk; every warehouse write happens on
the calling thread, as their results arrive.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from etl.config import AccountSettings, Settings
from etl.errors import ApiError, AuthError, DiskSpaceError, RateLimitError, ResourceError
from etl.http.client import ZoomClient
from etl.http.files import DownloadFailed, fetch
from etl.recordings import plan, rows
from etl.recordings.layout import relative_path
from etl.recordings.tables import create_tables
from etl.warehouse.connection import Warehouse

log = logging.getLogger("etl.recordings")

MEDIA = frozenset({"MP4", "M4A"})
PARSED = frozenset({"TRANSCRIPT", "CC", "CHAT"})
ZOOM_HOSTS = (".zoom.us", ".zoom.com", ".zoomgov.com")
INVENTORY_COLUMNS = (
    "account_id, file_id, meeting_uuid, file_type, path, bytes, expected_bytes, sha256, content_type,"
    " downloaded_at, status, error, attempts, _run_id, _synced_at"
)


@dataclass(frozen=True, slots=True)
class Options:
    out: Path
    types: frozenset[str] | None = None  # None: every type
    since: date | None = None
    hosts: tuple[str, ...] = ()
    concurrency: int = 4
    throttle: Callable[[int], None] = lambda _n: None
    allowed_hosts: tuple[str, ...] = ZOOM_HOSTS
    attempts: int = 4
    min_free_bytes: int = 1024**3
    parse: bool = True
    backoff: float = 0.5


@dataclass(slots=True)
class Result:
    account_id: str
    files: int = 0  # files the run was asked for (after filters)
    already: int = 0  # complete before the run
    complete: int = 0  # completed by this run
    failed: int = 0
    processing: int = 0
    gone: int = 0
    bytes: int = 0  # bytes received by this run
    resumed: int = 0  # files continued from a partial file
    requests: int = 0
    segments: int = 0
    chat_messages: int = 0
    rejects: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a worker reports for one file."""

    row: plan.FileRow
    status: str  # complete | failed | processing | gone | partial
    path: str
    size: int = 0
    sha256: str | None = None
    content_type: str | None = None
    error: str | None = None
    received: int = 0
    resumed: bool = False
    requests: int = 0
    attempts: int = 0


def file_key(item: dict[str, Any], meeting_uuid: str) -> str:
    """``zoom.recording_files.id`` of a listed file: Zoom's id, else type|uuid|start (CC, TIMELINE)."""
    if item.get("id"):
        return str(item["id"])
    start = str(item.get("recording_start") or "")
    with contextlib.suppress(ValueError):
        parsed = datetime.fromisoformat(start.replace("Z", "+00:00"))
        start = parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{item.get('file_type')}|{meeting_uuid}|{start}"


def encode_uuid(uuid: str) -> str:
    once = quote(uuid, safe="")
    return quote(once, safe="") if uuid.startswith("/") or "//" in uuid else once


def accepts(file_type: str) -> Callable[[str], bool]:
    if file_type in MEDIA:
        return lambda ct: ct.startswith(("video/", "audio/")) or ct in ("application/octet-stream", "")
    return lambda ct: ct.startswith("text/") or ct in ("application/json", "application/octet-stream", "")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def _check_disk(out: Path, missing: list[plan.FileRow], minimum: int) -> None:
    need = 0
    for row in missing:
        need += row.file_size or 0
    probe = out
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free - need < minimum:
        raise DiskSpaceError(
            f"not enough free disk in {out}: {need / 1e6:,.1f} MB to download, {free / 1e6:,.1f} MB free,"
            f" and {minimum / 1e6:,.0f} MB must stay free (--min-free-gb)"
        )


class Run:
    """One account's download run (``run()``)."""

    def __init__(
        self, wh: Warehouse, client: ZoomClient, account_id: str, options: Options, run_id: str
    ) -> None:
        self.wh = wh
        self.client = client
        self.account_id = account_id
        self.options = options
        self.run_id = run_id
        self.result = Result(account_id)
        self._held: dict[str, plan.Held] = {}

    # ---- the run -------------------------------------------------------------------------------------

    def run(self) -> Result:
        conn = self.wh.conn
        create_tables(conn)
        o = self.options
        files = plan.wanted_files(conn, self.account_id, types=o.types, since=o.since, hosts=o.hosts)
        held = plan.inventory(conn, self.account_id)
        self.result.files = len(files)
        missing = [f for f in files if not plan.still_complete(held.get(f.file_id), o.out)]
        self.result.already = len(files) - len(missing)
        self._held = held
        if o.parse:  # complete files never read (downloaded with --no-parse): read them now, no download
            unread = plan.unread(conn, self.account_id) - {f.file_id for f in missing}
            self._read([f for f in files if f.file_id in unread], held)
        if not missing:
            return self.result
        _check_disk(o.out, missing, o.min_free_bytes)
        by_meeting: dict[str, list[plan.FileRow]] = {}
        for row in missing:
            by_meeting.setdefault(row.meeting_uuid, []).append(row)
        with ThreadPoolExecutor(max_workers=max(1, o.concurrency), thread_name_prefix="download") as pool:
            futures: list[Future[list[Outcome]]] = [
                pool.submit(self._meeting, uuid, rows) for uuid, rows in by_meeting.items()
            ]
            try:
                for future in as_completed(futures):
                    self._record(future.result())
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        return self.result

    # ---- workers: network and disk only --------------------------------------------------------------

    def _meeting(self, uuid: str, rows: list[plan.FileRow]) -> list[Outcome]:
        try:
            response = self.client.rest_get(f"/meetings/{encode_uuid(uuid)}/recordings", category="light")
            listing = response.json()
        except ResourceError as exc:
            return [Outcome(r, "gone", self._path(r), error=f"no longer listed by Zoom: {exc}") for r in rows]
        except (AuthError, RateLimitError):
            raise
        except ApiError as exc:
            return [Outcome(r, "failed", self._path(r), error=str(exc)) for r in rows]
        fresh = {
            file_key(item, uuid): item
            for item in listing.get("recording_files") or []
            if isinstance(item, dict)
        }
        return [self._file(row, fresh.get(row.file_id)) for row in rows]

    def _path(self, row: plan.FileRow) -> str:
        return str(
            relative_path(
                account_id=self.account_id,
                host=row.host,
                start_time=row.start_time,
                meeting_uuid=row.meeting_uuid,
                topic=row.topic,
                file_type=row.file_type,
                file_key=row.file_id,
                extension=row.file_extension,
            )
        )

    def _file(self, row: plan.FileRow, item: dict[str, Any] | None) -> Outcome:
        rel = self._path(row)
        final = self.options.out / rel
        if item is None:
            return Outcome(row, "gone", rel, error="no longer listed by Zoom")
        status = str(item.get("status") or "completed")
        if status != "completed":
            return Outcome(row, "processing", rel, error=f"Zoom lists the file as {status!r}")
        url = item.get("download_url")
        if not url:
            return Outcome(row, "failed", rel, error="Zoom lists no download_url (an on-premise file?)")
        size = item.get("file_size")
        expected = int(size) if isinstance(size, int | float) and size > 0 else row.file_size
        final.parent.mkdir(parents=True, exist_ok=True)
        part = final.with_name(final.name + ".part")
        if final.is_file() and (expected is None or final.stat().st_size == expected):
            # Renamed by a run killed before its inventory row was committed: checksum it, done.
            return self._done(row, rel, final, None, 0, False, 0, 0)
        resumed_from = part.stat().st_size if part.exists() else 0
        requests = attempts = 0
        refreshed = False
        error = ""
        for attempt in range(self.options.attempts):
            attempts += 1
            try:
                fetched = fetch(
                    self.client,
                    str(url),
                    part,
                    allowed_hosts=self.options.allowed_hosts,
                    accept=accepts(row.file_type),
                    expected_size=expected,
                    throttle=self.options.throttle,
                )
            except DownloadFailed as exc:
                error = str(exc)
                if exc.refresh_token and not refreshed:
                    refreshed = True
                    self.client.invalidate_token(self.client.access_token())
                    continue
                if not exc.retryable:
                    part.unlink(missing_ok=True)
                    return Outcome(row, "failed", rel, error=f"{exc.kind}: {exc}", attempts=attempts)
                time.sleep(self.options.backoff * 2**attempt)
                continue
            requests += fetched.requests
            received = fetched.size - resumed_from if fetched.resumed_from else fetched.size
            problem = self._verify(row, part, fetched.size, expected)
            if problem:
                part.unlink(missing_ok=True)
                return Outcome(row, "failed", rel, error=problem, requests=requests, attempts=attempts)
            return self._done(
                row, rel, final, part, received, resumed_from > 0, requests, attempts, fetched.content_type
            )
        size_now = part.stat().st_size if part.exists() else 0
        return Outcome(row, "partial", rel, size=size_now, error=error, requests=requests, attempts=attempts)

    @staticmethod
    def _verify(row: plan.FileRow, part: Path, size: int, expected: int | None) -> str | None:
        if expected is not None and size != expected:
            return f"size_mismatch: {size} bytes received, Zoom lists {expected}"
        if row.file_type in MEDIA:
            with part.open("rb") as handle:
                head = handle.read(12)
            if head[4:8] != b"ftyp":
                return f"not_media: no ISO media 'ftyp' box at the start of the {row.file_type} file"
        return None

    def _done(
        self,
        row: plan.FileRow,
        rel: str,
        final: Path,
        part: Path | None,
        received: int,
        resumed: bool,
        requests: int,
        attempts: int,
        content_type: str | None = None,
    ) -> Outcome:
        source = part if part is not None else final
        digest = sha256_of(source)
        if part is not None:
            with part.open("rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(part, final)
        size = final.stat().st_size
        return Outcome(
            row, "complete", rel, size, digest, content_type, None, received, resumed, requests, attempts
        )

    # ---- the calling thread: the warehouse -----------------------------------------------------------

    def _record(self, outcomes: list[Outcome]) -> None:
        """One meeting's files in one transaction: the inventory rows, and the rows read from them."""
        now = datetime.now(UTC)
        with self.wh.transaction() as conn:
            for o in outcomes:
                self._count(o)
                before = self._held.get(o.row.file_id)
                attempts = (before.attempts if before else 0) + o.attempts
                conn.execute(
                    "DELETE FROM zoom.recording_downloads WHERE account_id = ? AND file_id = ?",
                    [self.account_id, o.row.file_id],
                )
                conn.execute(
                    f"INSERT INTO zoom.recording_downloads ({INVENTORY_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        self.account_id, o.row.file_id, o.row.meeting_uuid, o.row.file_type, o.path,
                        o.size if o.status in ("complete", "partial") else None, o.row.file_size, o.sha256,
                        o.content_type, now if o.status == "complete" else None, o.status, o.error, attempts,
                        self.run_id, now,
                    ],
                )  # fmt: skip
                if o.status == "complete" and self.options.parse and o.row.file_type in PARSED:
                    self._rows(conn, o, now)

    def _read(self, files: list[plan.FileRow], held: dict[str, plan.Held]) -> None:
        now = datetime.now(UTC)
        with self.wh.transaction() as conn:
            for row in files:
                path = held[row.file_id].path or ""
                self._rows(conn, Outcome(row, "complete", path), now)

    def _count(self, o: Outcome) -> None:
        r = self.result
        r.requests += o.requests
        r.bytes += o.received
        r.resumed += o.resumed
        if o.status == "complete":
            r.complete += 1
        elif o.status == "processing":
            r.processing += 1
        elif o.status == "gone":
            r.gone += 1
        else:
            r.failed += 1
            r.errors.append(f"{o.row.file_id} ({o.row.file_type}): {o.error}")

    def _rows(self, conn: Any, o: Outcome, now: datetime) -> None:
        try:
            table, count = rows.load(
                conn, self.options.out / o.path, o.row, self.account_id, self.run_id, now
            )
        except rows.Unreadable as exc:
            self.result.rejects += 1
            rows.reject(conn, exc, o.path, o.row, self.account_id, self.run_id)
            return
        if table == "chat_messages":
            self.result.chat_messages += count
        else:
            self.result.segments += count


def new_run_id() -> str:
    return "download-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")


def download_all(settings: Settings, options: Options, *, wait: float = 0.0) -> list[Result]:
    """Every configured account's run, one after the other, each warehouse held once for the accounts
    synced into it (its own ``[[accounts]]`` warehouse, else the shared one) and published when they end,
    so readers see the new rows."""
    run_id = new_run_id()
    by_warehouse: dict[Path, list[AccountSettings]] = {}
    for account in settings.accounts:
        by_warehouse.setdefault(settings.warehouse_for(account), []).append(account)
    results = []
    for path, accounts in by_warehouse.items():
        with Warehouse.open(path, publish=True, wait=wait) as wh:
            for account in accounts:
                with ZoomClient(account, settings) as client:
                    results.append(Run(wh, client, account.account_id, options, run_id).run())
    return results
