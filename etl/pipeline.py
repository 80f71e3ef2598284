"""The sync, stage by stage: extract → normalize → load, called in that order, visibly, here and only here.

Extraction runs on worker threads and hands events back on this thread; pages are buffered into a batch
and flushed when the batch holds ``batch_rows`` rows or ``batch_seconds`` have passed. A batch normalizes
its pages every ``PART_ROWS`` rows as they arrive, so it never holds more than one part's decoded records
(the memory bound), and merges the parts when it is flushed. Each flush is one
DuckDB transaction with the checkpoints, skips, gaps and source choices that arrived with its pages, so the
warehouse and the stream state never disagree: a sync killed at any point resumes from its last commit.

A run ends "ok" only if nothing is outstanding: a reject, a skip, or a gap (``_etl.gaps``, see
``etl.extract.gaps``) of one of its streams left for the next runs makes it "partial" (exit 3).

Accounts are synced one after another in one run (rate limits are per account; scale out by running one
process per account). The analytics views are refreshed at the end of every sync.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import orjson

from etl import analytics, crashpoints
from etl.carryover import gap_counts, outstanding_gaps, pending_keys, read_history
from etl.config import AccountSettings, Settings
from etl.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, ConfigError, ZoomEtlError
from etl.extract import Plan, extract, plan
from etl.extract.estimate import History
from etl.extract.events import Targets, extract_targets
from etl.http.client import ZoomClient
from etl.load import LoadResult
from etl.load.background import BackgroundLoader
from etl.normalize import Normalized, merge, normalize
from etl.records import Checkpoint, Event, Gap, Page, Skip, SourceChoice
from etl.streams import BY_NAME, STREAMS
from etl.warehouse.connection import Warehouse
from etl.warehouse.raw import EncodedPages, encode_pages
from etl.warehouse.reader import open_published
from etl.warehouse.running import RunProgress
from etl.webhooks.consume import EventPass
from etl.webhooks.spool import Spool

log = logging.getLogger("etl.pipeline")

PART_ROWS = 10_000  # decoded records a batch holds before it normalizes them (about 2 KB each in Python)


@dataclass(frozen=True, slots=True)
class SyncOptions:
    streams: tuple[str, ...] | None = None
    since: date | None = None
    full_refresh: bool = False
    batch_rows: int = 50_000
    batch_seconds: float = 5.0
    part_rows: int = PART_ROWS
    wait: float = 0.0  # seconds to wait for the warehouse when another process holds it
    # Zoom's events (etl.webhooks): "off"; "ingest", a full sync that also records the spooled events;
    # "targeted", fetch only what they name (a full sync instead when [webhooks] reconcile_every is due)
    events: str = "off"


@dataclass(slots=True)
class SyncResult:
    """What a sync did; ``as_dict`` is the JSON summary printed for cron."""

    run_id: str
    status: str  # ok | partial | failed
    exit_code: int
    started_at: datetime
    ended_at: datetime
    rows: dict[str, int] = field(default_factory=dict)
    rejects: int = 0
    skips: int = 0
    schema_changes: int = 0
    requests_by_category: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    retries: int = 0
    throttled: int = 0
    error: str = ""
    data_as_of: datetime | None = None  # Zoom's clock when reading began (the earliest of the accounts)
    read_copy: dict[str, Any] | None = None  # the publish: path, bytes, seconds, cloned
    gaps: dict[str, int] = field(default_factory=dict)  # outstanding gaps per stream when the run ended
    events: dict[str, Any] | None = None  # the spooled events: mode (targeted / full) and their statuses

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "exit_code": self.exit_code,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat(),
            "seconds": round((self.ended_at - self.started_at).total_seconds(), 3),
            "rows": self.rows,
            "rejects": self.rejects,
            "skips": self.skips,
            "schema_changes": self.schema_changes,
            "requests_by_category": self.requests_by_category,
            "sources": self.sources,
            "retries": self.retries,
            "throttled": self.throttled,
            "error": self.error,
            "data_as_of": None if self.data_as_of is None else self.data_as_of.isoformat(),
            "read_copy": self.read_copy,
            "gaps": self.gaps,
            **({"events": self.events} if self.events is not None else {}),
        }


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Where a running sync is, for a progress display: handed to ``sync(progress=...)`` after every
    committed batch and, between commits, at most every ``TICK_SECONDS`` as events arrive."""

    account_id: str
    rows: Mapping[str, int]  # rows committed so far, per table
    requests: Mapping[str, int]  # requests sent so far, per rate-limit category (retries included)
    throttled: int  # 429 responses so far
    streams_done: tuple[str, ...]  # "account_id/stream" of every stream that has fetched all it had to
    streams_total: int  # streams x accounts


Progress = Callable[[Snapshot], None]
TICK_SECONDS = 0.5


class Batch:
    """Events waiting for the next commit, in arrival order (checkpoints after the pages they cover).

    Pages are normalized, and encoded for raw landing, every ``part_rows`` rows as they arrive: decoded
    records take ~2 KB a row in Python against ~0.3 KB in a frame, so a batch of 50,000 rows holds at
    most one part of them. ``normalized`` merges the parts as if the batch had been normalized at once.
    """

    def __init__(self, wh: Warehouse, run_id: str, *, part_rows: int = PART_ROWS) -> None:
        self.wh = wh
        self.run_id = run_id
        self.part_rows = part_rows
        self.checkpoints: list[Checkpoint] = []
        self.skips: list[Skip] = []
        self.sources: list[SourceChoice] = []
        self.gaps: list[Gap] = []
        self.rows = 0
        self.opened = time.monotonic()
        self._pending: list[Page] = []
        self._pending_rows = 0
        self._parts: list[Normalized] = []
        self._landing: list[EncodedPages] = []

    def add(self, event: Event) -> None:
        if isinstance(event, Page):
            self._pending.append(event)
            self.rows += len(event.records)
            self._pending_rows += len(event.records)
            if self._pending_rows >= self.part_rows:
                self._digest()
        elif isinstance(event, Checkpoint):
            self.checkpoints.append(event)
        elif isinstance(event, Skip):
            log.warning("skipped %s %s: %s", event.stream, event.resource, event.reason)
            self.skips.append(event)
        elif isinstance(event, Gap):
            if not event.closed:
                days = f" {event.first_day}..{event.last_day}" if event.first_day else ""
                log.warning("gap in %s %s%s: %s", event.stream, event.scope, days, event.reason)
            self.gaps.append(event)
        else:
            log.info(
                "stream %s served by %s%s",
                event.stream,
                event.source,
                f" ({event.reason})" * bool(event.reason),
            )
            self.sources.append(event)

    def _digest(self) -> None:
        """Normalize and encode the pages received since the last part; later parts normalize with the
        contracts the earlier ones returned (columns drift added)."""
        if not self._pending:
            return
        contracts = self._parts[-1].contracts if self._parts else self.wh.contracts
        self._parts.append(normalize(self._pending, contracts, self.run_id))
        if self.wh.raw:
            self._landing.append(encode_pages(self._pending))
        self._pending, self._pending_rows = [], 0

    def normalized(self) -> Normalized | None:
        """Every page of the batch normalized (None if it holds no page)."""
        self._digest()
        return merge(self._parts) if self._parts else None

    def landing(self) -> EncodedPages:
        """Every page of the batch encoded for ``raw.pages``, in arrival order."""
        self._digest()
        return EncodedPages.concat(self._landing)

    def __bool__(self) -> bool:
        return bool(
            self._pending or self._parts or self.checkpoints or self.skips or self.sources or self.gaps
        )


def _flush(loader: BackgroundLoader, run_id: str, batch: Batch, result: SyncResult) -> None:
    """Finish normalizing ``batch`` here and hand it to the loader, which commits it while the next
    batch is normalized (DuckDB writes without the GIL). Commits keep their order, one transaction each."""
    normalized = batch.normalized()
    skipped, chosen = len(batch.skips), {c.stream: c.source for c in batch.sources}

    def account_for(loaded: LoadResult) -> None:  # on this thread, once the batch is committed
        for table, count in loaded.rows.items():
            result.rows[table] = result.rows.get(table, 0) + count
        result.rejects += loaded.rejects
        result.skips += skipped
        result.schema_changes += loaded.schema_changes
        result.sources.update(chosen)

    loader.submit(
        run_id,
        normalized,
        pages=batch.landing(),
        checkpoints=batch.checkpoints,
        skips=batch.skips,
        sources=batch.sources,
        gaps=batch.gaps,
        on_done=account_for,
    )


def _states(wh: Warehouse, account_id: str) -> dict[str, dict[str, Any]]:
    return {s.name: state for s in STREAMS if (state := wh.state(s.name, account_id)) is not None}


def _sync_account(
    loader: BackgroundLoader,
    run_id: str,
    account: AccountSettings,
    settings: Settings,
    options: SyncOptions,
    result: SyncResult,
    client: ZoomClient,
    reporter: _Reporter,
    targets: Targets | None = None,
) -> None:
    wh = loader.wh
    now = client.server_now()
    result.data_as_of = min(now, result.data_as_of or now)
    if targets is not None:  # Zoom's events name what changed: fetch only that (etl.extract.events)
        events = extract_targets(account, client, settings, _states(wh, account.account_id), targets, now=now)
    else:
        events = extract(
            account,
            client,
            settings,
            _states(wh, account.account_id),
            streams=options.streams,
            since=options.since,
            full_refresh=options.full_refresh,
            now=now,
            pending=pending_keys(wh, account.account_id, now),
            gaps=outstanding_gaps(wh, account.account_id),
        )
    batch = Batch(wh, run_id, part_rows=options.part_rows)
    loading = True  # False once the loader failed: nothing more is handed to it
    try:
        try:
            for event in events:
                batch.add(event)
                reporter.arrived(account.account_id, event)
                crashpoints.reach("pipeline.event")
                due = time.monotonic() - batch.opened >= options.batch_seconds
                if batch.rows >= options.batch_rows or (due and batch):
                    loading = False
                    _flush(loader, run_id, batch, result)
                    loading = True
                    batch = Batch(wh, run_id, part_rows=options.part_rows)
                    reporter.committed(account.account_id)
        finally:
            # Whatever ends the loop (the end, an extraction error, a failed load), the download threads
            # are told to stop and are waited for here: left running, they block on the full event queue
            # forever, and the process (its lock with it) never exits.
            events.close()
        # What arrived before an extraction failure is consistent (checkpoints follow their pages): keep
        # it. After a failed load nothing more is written: the loader raised, the run has failed.
    finally:
        if loading:
            if batch:
                _flush(loader, run_id, batch, result)
            loader.drain()  # the next account reads state from wh.conn: nothing may be in flight
        reporter.committed(account.account_id)


class _Reporter:
    """After every committed batch: the progress file (``zoom-etl status`` while the sync runs), with the
    requests of the accounts done plus this one's so far, then the caller's own progress display, which
    also hears of streams that finished and, between commits, gets a fresh snapshot every ``TICK_SECONDS``."""

    def __init__(
        self,
        running: RunProgress,
        requests: Mapping[str, int],
        throttled: int,
        result: SyncResult,
        client: ZoomClient,
        progress: Progress | None,
        done: list[str],
        streams_total: int,
    ) -> None:
        self.running, self.requests, self.throttled, self.result = running, requests, throttled, result
        self.client, self.progress, self.done, self.streams_total = client, progress, done, streams_total
        self.shown = time.monotonic()

    def committed(self, account_id: str) -> None:
        snapshot = self._snapshot(account_id)
        self.running.update(account_id, snapshot.rows, snapshot.requests, self.result.sources)
        self._show(snapshot)

    def arrived(self, account_id: str, event: Event) -> None:
        if (
            isinstance(event, Checkpoint)
            and event.finished
            and f"{account_id}/{event.stream}" not in self.done
        ):
            self.done.append(f"{account_id}/{event.stream}")
        if self.progress is not None and time.monotonic() - self.shown >= TICK_SECONDS:
            self._show(self._snapshot(account_id))

    def _snapshot(self, account_id: str) -> Snapshot:
        stats = self.client.stats
        so_far = dict(self.requests)
        for category, count in stats.by_category.items():
            so_far[category] = so_far.get(category, 0) + count
        return Snapshot(
            account_id,
            dict(self.result.rows),
            so_far,
            self.throttled + stats.throttled,
            tuple(self.done),
            self.streams_total,
        )

    def _show(self, snapshot: Snapshot) -> None:
        self.shown = time.monotonic()
        if self.progress is not None:
            self.progress(snapshot)


def sync(
    settings: Settings,
    options: SyncOptions = SyncOptions(),
    *,
    transport: httpx.BaseTransport | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Run one sync of every configured account into ``settings.warehouse``; never raises for a failure
    of the sync itself (the result says ``failed`` and why), only for errors before it could start
    (configuration, the warehouse lock)."""
    names = options.streams or settings.streams or tuple(s.name for s in STREAMS)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ConfigError(f"unknown stream(s): {', '.join(unknown)}; see `zoom-etl streams`")
    spool = Spool(settings.webhooks.spool_for(settings.warehouse))
    spooled = EventPass(spool, settings.webhooks, read=options.events != "off")
    with (
        Warehouse.open(settings.warehouse, raw=settings.raw_landing, publish=True, wait=options.wait) as wh,
        BackgroundLoader(wh) as loader,
    ):
        started = datetime.now(UTC)
        targeted = _event_targets(wh, settings, options, spooled, transport)
        if targeted is not None:
            names = (
                "events",
                *(s.name for s in STREAMS if any(s.name in t.streams() for t in targeted.values())),
            )
        run_id = wh.start_run(names, started_at=started)
        result = SyncResult(run_id, "running", EXIT_OK, started, started)
        requests: dict[str, int] = {}
        error: ZoomEtlError | None = None
        running = RunProgress(settings.warehouse, run_id, tuple(names), started)
        done: list[str] = []  # streams finished, as "account_id/stream"
        for account in settings.accounts:
            with ZoomClient(account, settings, transport=transport) as client:
                reporter = _Reporter(
                    running,
                    requests,
                    result.throttled,
                    result,
                    client,
                    progress,
                    done,
                    len(names) * len(settings.accounts),
                )
                try:
                    target = None if targeted is None else targeted[account.account_id]
                    _sync_account(
                        loader, run_id, account, settings, options, result, client, reporter, target
                    )
                    if options.events != "off":
                        submit = _submitter(loader, run_id, result)
                        spooled.finish(
                            wh,
                            submit,
                            account.account_id,
                            client.server_now(),
                            fetched=True,
                            polled=target is None,
                        )
                except ZoomEtlError as exc:
                    error = exc
                    log.error("account %s: %s", account.account_id, exc)
                stats = client.stats
                for category, count in stats.by_category.items():
                    requests[category] = requests.get(category, 0) + count
                result.retries += stats.retries
                result.throttled += stats.throttled
            running.account_done(account.account_id)
            if error is not None:
                break
        crashpoints.reach("pipeline.before_analytics")
        try:
            analytics.apply(wh.conn)
        except Exception as exc:  # after a failed write (a full disk) the run is recorded as failed anyway
            if error is None:
                raise
            log.error("analytics views not refreshed: %s", exc)
        message = ""
        try:
            result.gaps = gap_counts(wh, [a.account_id for a in settings.accounts], names)
        except Exception as exc:  # after a failed write (a full disk) the run is recorded as failed anyway
            if error is None:
                raise
            log.error("outstanding gaps not counted: %s", exc)
        if result.gaps:
            listed = ", ".join(f"{stream} {count}" for stream, count in result.gaps.items())
            message = f"outstanding gaps ({listed}): the next runs fetch them again; see `zoom-etl status`"
            log.warning(message)
        if error is not None:
            # 1, or 2 when a setting would fix it (a foreign api_url, a --since after Zoom's today)
            result.status, result.exit_code, result.error = "failed", error.exit_code, str(error)
            message = result.error
        elif result.rejects or result.skips or result.gaps:
            result.status, result.exit_code = "partial", EXIT_PARTIAL
        else:
            result.status, result.exit_code = "ok", EXIT_OK
        result.requests_by_category = requests
        if options.events != "off":
            mode = "targeted" if targeted is not None else "full"
            result.events = {
                "mode": mode,
                **dict(sorted(spooled.summary.items())),
                "spooled": len(spooled.spool),
            }
        result.ended_at = datetime.now(UTC)
        crashpoints.reach("pipeline.before_finish")
        wh.finish_run(
            run_id,
            status=result.status,
            exit_code=result.exit_code,
            requests_by_category=requests,
            errors=1 if error else 0,
            message=message,
            ended_at=result.ended_at,
            retries=result.retries,
            throttled=result.throttled,
            data_as_of=result.data_as_of,
        )
        running.clear()
    if wh.published is not None:  # published as the warehouse closed, the lock still held
        published = wh.published
        result.read_copy = {
            "path": str(published.path),
            "bytes": published.bytes,
            "seconds": round(published.seconds, 3),
            "cloned": published.cloned,
        }
    elif wh.publish_error:  # the run is committed, but readers would go on seeing the previous one
        result.read_copy = {"error": wh.publish_error}
        if result.exit_code != EXIT_FAILED:
            result.status, result.exit_code, result.error = "failed", EXIT_FAILED, wh.publish_error
    return result


def _event_targets(
    wh: Warehouse,
    settings: Settings,
    options: SyncOptions,
    spooled: EventPass,
    transport: httpx.BaseTransport | None,
) -> dict[str, Targets] | None:
    """Per account, what ``sync --events`` fetches; None for a full sync (not asked for events, or the
    last full sync is older than ``reconcile_every``: the periodic reconciliation)."""
    if options.events != "targeted":
        return None
    with ZoomClient(settings.accounts[0], settings, transport=transport) as client:
        now = client.server_now()
    if spooled.reconcile_due(wh, now):
        log.info("the last full sync is older than reconcile_every: this sync polls everything")
        return None
    return {a.account_id: spooled.targets(wh, a.account_id) for a in settings.accounts}


def _submitter(loader: BackgroundLoader, run_id: str, result: SyncResult) -> Callable[[Page], None]:
    """Commit one page on its own, and wait for it (what must be in before the spool may forget)."""

    def submit(page: Page) -> None:
        batch = Batch(loader.wh, run_id)
        batch.add(page)
        _flush(loader, run_id, batch, result)
        loader.drain()

    return submit


def plan_sync(
    settings: Settings, options: SyncOptions = SyncOptions(), *, count_users: bool = True
) -> list[Plan]:
    """The plan of a sync per account, without writing anything. Reads stream state from the warehouse
    if it exists (read-only); counts users through the API when ``count_users``."""
    plans = []
    for account in settings.accounts:
        states: dict[str, dict[str, Any]] = {}
        history: History | None = None
        if settings.warehouse.exists():
            with open_published(settings.warehouse) as conn:
                rows = conn.execute(
                    "SELECT stream, state FROM _etl.state WHERE account_id = ?", [account.account_id]
                ).fetchall()
                states = {stream: orjson.loads(state) for stream, state in rows}
                history = read_history(conn, account.account_id)
        with ZoomClient(account, settings) as client:
            now = client.server_now()
            plans.append(
                plan(
                    account,
                    client if count_users else None,
                    settings,
                    states,
                    streams=options.streams,
                    since=options.since,
                    full_refresh=options.full_refresh,
                    now=now,
                    history=history,
                )
            )
    return plans
