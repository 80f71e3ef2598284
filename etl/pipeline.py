"""The sync, stage by stage: extract → normalize → load, called in that order, visibly, here and only here.

Extraction runs on worker threads and hands events back on this thread; pages are buffered into a batch
and flushed when the batch holds ``batch_rows`` rows or ``batch_seconds`` have passed. A batch normalizes
its pages every ``PART_ROWS`` rows as they arrive, so it never holds more than one part's decoded records
(the memory bound), and merges the parts when it is flushed. Each flush is one
DuckDB transaction with the checkpoints, skips, gaps and source choices that arrived with its pages, so the
warehouse and the stream state never disagree: a sync killed at any point resumes from its last commit.

A run ends "ok" only if nothing is outstanding: a reject, a skip, or a gap (``_etl.gaps``, see
``etl.extract.gaps``) of one of its streams left for the next runs makes it "partial" (exit 3).

Accounts are synced at once, each on a thread of its own with its own client and rate limits, into
their warehouses (``etl.accounts``: who opens and closes a warehouse shared by several, and how the
accounts' outcomes make the run's). One account failing is recorded and the others go on. The analytics
views are refreshed at the end of every sync, in every warehouse.

Zoom's events (``etl.webhooks``): ``sync --events`` reads the spool and, per warehouse once it is open,
either fetches only what the events name for each of its accounts (``etl.extract.events``) or, when the
last full sync there is older than ``reconcile_every``, polls everything; after each account's rows are
committed its events are recorded in ``zoom.events`` (``EventPass.finish``, on that account's thread).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from etl import crashpoints
from etl.accounts import AccountResult, Target, outcome
from etl.carryover import gap_counts, outstanding_gaps, pending_keys, read_history
from etl.config import AccountSettings, Settings
from etl.errors import ConfigError, ZoomEtlError
from etl.extract import extract
from etl.extract.events import Targets, extract_targets
from etl.http.client import ZoomClient
from etl.load import LoadResult
from etl.load.background import BackgroundLoader
from etl.normalize import Normalized, merge, normalize
from etl.plan import Plan, plan
from etl.plan.estimate import History
from etl.records import Checkpoint, Event, Gap, Page, Skip, SourceChoice
from etl.snapshots import Progress, Reporter, Snapshot
from etl.streams import BY_NAME, STREAMS
from etl.warehouse.connection import Warehouse
from etl.warehouse.raw import EncodedPages, encode_pages
from etl.warehouse.reader import open_published
from etl.webhooks.consume import EventPass
from etl.webhooks.spool import Spool
from etl.webhooks.targets import EVENTS

__all__ = ["Batch", "Progress", "Snapshot", "SyncOptions", "SyncResult", "plan_sync", "sync"]

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
    read_copy: dict[str, Any] | None = None  # the publish (path, bytes, seconds, cloned); one warehouse only
    gaps: dict[str, int] = field(default_factory=dict)  # outstanding gaps per stream when the run ended
    accounts: list[dict[str, Any]] = field(default_factory=list)  # per account (AccountResult.as_dict)
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
            "accounts": self.accounts,
            **({"events": self.events} if self.events is not None else {}),
        }


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
            log.warning(
                "account %s: skipped %s %s: %s", event.account_id, event.stream, event.resource, event.reason
            )
            self.skips.append(event)
        elif isinstance(event, Gap):
            if not event.closed:
                days = f" {event.first_day}..{event.last_day}" if event.first_day else ""
                log.warning(
                    "account %s: gap in %s %s%s: %s",
                    event.account_id,
                    event.stream,
                    event.scope,
                    days,
                    event.reason,
                )
            self.gaps.append(event)
        else:
            log.info(
                "account %s: stream %s served by %s%s",
                event.account_id,
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


def _flush(loader: BackgroundLoader, run_id: str, batch: Batch, result: AccountResult) -> None:
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
    result: AccountResult,
    client: ZoomClient,
    reporter: Reporter,
    stop: threading.Event,
    targets: Targets | None = None,
) -> None:
    wh = loader.wh
    now = client.server_now()
    result.data_as_of = now
    with wh.busy:  # another account's batch may be loading
        states = _states(wh, account.account_id)
        pending = pending_keys(wh, account.account_id, now)
        gaps = outstanding_gaps(wh, account.account_id)
    if targets is not None:  # Zoom's events name what changed: fetch only that (etl.extract.events)
        events = extract_targets(account, client, settings, states, targets, now=now)
    else:
        events = extract(
            account,
            client,
            settings,
            states,
            streams=options.streams,
            since=options.since,
            full_refresh=options.full_refresh,
            now=now,
            pending=pending,
            gaps=gaps,
        )
    batch = Batch(wh, run_id, part_rows=options.part_rows)
    loading = True  # False once the loader failed: nothing more is handed to it
    try:
        try:
            for event in events:
                if stop.is_set():
                    raise ZoomEtlError("interrupted: the sync was stopped before this account ended")
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
            loader.drain()  # the account's figures are final once its last batch is committed
        reporter.committed(account.account_id)


def _run_account(
    target: Target,
    account: AccountSettings,
    settings: Settings,
    options: SyncOptions,
    transport: httpx.BaseTransport | None,
    reporter: Reporter,
    stop: threading.Event,
    spooled: EventPass | None = None,
    targeted: dict[str, Targets] | None = None,
) -> AccountResult:
    """One account of a run, start to end, on a thread of its own; never raises for the account's own
    failure (recorded in its result: the other accounts go on). ``spooled``: Zoom's events to record once
    the account's rows are committed; ``targeted``: per account, what its events name (filled when its
    warehouse opened; the account absent: a full sync)."""
    result = AccountResult(account.account_id, str(target.path))
    reporter.begin(result, target)
    try:
        if stop.is_set():
            raise ZoomEtlError("interrupted: the sync was stopped before this account started")
        try:
            wh = target.enter()
        except ZoomEtlError as exc:  # said once for the warehouse, by ``sync`` (or raised by it)
            result.fail(exc)
            return result
        with ZoomClient(account, settings, transport=transport) as client:
            reporter.attach(account.account_id, client)
            try:
                with BackgroundLoader(wh) as loader:
                    aimed = (targeted or {}).get(account.account_id)
                    _sync_account(
                        loader,
                        target.run_id,
                        account,
                        settings,
                        options,
                        result,
                        client,
                        reporter,
                        stop,
                        aimed,
                    )
                    if spooled is not None:
                        submit = _submitter(loader, target.run_id, result)
                        now = client.server_now()
                        spooled.finish(
                            wh, submit, account.account_id, now, fetched=True, polled=aimed is None
                        )
            finally:
                stats = client.stats
                result.requests_by_category = dict(stats.by_category)
                result.retries, result.throttled = stats.retries, stats.throttled
        with wh.busy:
            result.gaps = gap_counts(wh, [account.account_id], target.streams)
    except ZoomEtlError as exc:
        result.fail(exc)
        log.error("account %s: %s", account.account_id, exc)
    except Exception as exc:  # a bug must not take the other accounts down; its traceback is logged
        result.fail(exc)
        log.exception("account %s failed", account.account_id)
    finally:
        result.settle()
        result.ended_at = datetime.now(UTC)
        reporter.end(result)
        target.leave(result)
    return result


def sync(
    settings: Settings,
    options: SyncOptions = SyncOptions(),
    *,
    transport: httpx.BaseTransport | None = None,
    progress: Progress | None = None,
) -> SyncResult:
    """Run one sync of every configured account, each into its warehouse (``etl.accounts``), up to
    ``settings.max_concurrent_accounts`` at once; never raises for a failure of the sync itself (the
    result says ``failed`` or ``partial`` and why, per account), only for errors before it could start
    (configuration) and when no warehouse of the run could be opened (the lock, a newer release's file)."""
    names = options.streams or settings.streams or tuple(s.name for s in STREAMS)
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise ConfigError(f"unknown stream(s): {', '.join(unknown)}; see `zoom-etl streams`")
    spooled: EventPass | None = None
    targeted: dict[str, Targets] = {}
    choose = None
    if options.events != "off":
        spooled = EventPass(Spool(settings.webhooks.spool_for(settings.warehouse)), settings.webhooks)
        if options.events == "targeted":
            choose = _event_targets(settings, spooled, transport, tuple(names), targeted)
    started = datetime.now(UTC)
    run_id = f"{started:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:8]}"  # one id in every warehouse of the run
    by_path: dict[Path, list[AccountSettings]] = {}
    for account in settings.accounts:
        by_path.setdefault(settings.warehouse_for(account).resolve(), []).append(account)
    targets = {
        path: Target(
            path,
            [a.account_id for a in accounts],
            run_id=run_id,
            streams=tuple(names),
            started_at=started,
            raw=settings.raw_landing,
            wait=options.wait,
            choose=choose,
        )
        for path, accounts in by_path.items()
    }
    target_of = {a.account_id: targets[path] for path, accounts in by_path.items() for a in accounts}
    reporter = Reporter(
        progress,
        streams_total=len(names) * len(settings.accounts),
        accounts_total=len(settings.accounts),
    )
    stop = threading.Event()
    workers = max(1, min(settings.max_concurrent_accounts, len(settings.accounts)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="account") as pool:
        futures = [
            pool.submit(
                _run_account,
                target_of[a.account_id],
                a,
                settings,
                options,
                transport,
                reporter,
                stop,
                spooled,
                targeted,
            )
            for a in settings.accounts
        ]
        try:
            results = [future.result() for future in futures]
        except BaseException:  # Ctrl-C: every account stops at its next event and closes its run
            stop.set()
            raise
    unopened = [t.open_error for t in targets.values() if t.open_error is not None]
    if unopened and len(unopened) == len(targets):
        # Nothing ran: raised as before a run (the lock: the CLI's "locked" record and exit 75; a warehouse
        # a newer release wrote: exit 2), whether there is one warehouse or several.
        raise unopened[0]
    for target in targets.values():
        if target.open_error is not None:
            log.error("warehouse %s not opened, its accounts not synced: %s", target.path, target.open_error)
    result = _summary(run_id, started, results, len(targets))
    if spooled is not None:
        with spooled.lock:
            summary = dict(sorted(spooled.summary.items()))
        result.events = {
            "mode": "targeted" if targeted else "full",
            **summary,
            "spooled": len(spooled.spool),
        }
    return result


def _event_targets(
    settings: Settings,
    spooled: EventPass,
    transport: httpx.BaseTransport | None,
    names: tuple[str, ...],
    targeted: dict[str, Targets],
) -> Callable[[Warehouse, tuple[str, ...]], tuple[str, ...]]:
    """``Target.choose`` for ``sync --events``: once a warehouse is open, what its accounts fetch. Their
    events' targets go into ``targeted`` (one entry per account) and the run there covers ``events`` and
    the streams those name; when the last full sync there is older than ``reconcile_every`` (the periodic
    reconciliation: Zoom drops an event after three failed deliveries), nothing is put in ``targeted`` and
    the run polls ``names``. Zoom's clock is read once, before any warehouse opens."""
    with ZoomClient(settings.accounts[0], settings, transport=transport) as client:
        now = client.server_now()

    def choose(wh: Warehouse, account_ids: tuple[str, ...]) -> tuple[str, ...]:
        if spooled.reconcile_due(wh, now):
            log.info(
                "%s: the last full sync is older than reconcile_every: this sync polls everything", wh.path
            )
            return names
        mine = {a: spooled.targets(wh, a) for a in account_ids}
        targeted.update(mine)  # each account reads only its own entry, after this warehouse opened
        wanted = {name for t in mine.values() for name in t.streams()}
        return (EVENTS, *(s.name for s in STREAMS if s.name in wanted))

    return choose


def _submitter(loader: BackgroundLoader, run_id: str, result: AccountResult) -> Callable[[Page], None]:
    """Commit one page on its own, and wait for it (what must be in before the spool may forget)."""

    def submit(page: Page) -> None:
        batch = Batch(loader.wh, run_id)
        batch.add(page)
        _flush(loader, run_id, batch, result)
        loader.drain()

    return submit


def _summary(run_id: str, started: datetime, results: list[AccountResult], warehouses: int) -> SyncResult:
    """The run over all its accounts: sums, the first data_as_of, the outcome (``etl.accounts.outcome``)."""
    status, exit_code, error = outcome(results)
    result = SyncResult(run_id, status, exit_code, started, datetime.now(UTC), error=error)
    for account in results:
        for table, count in account.rows.items():
            result.rows[table] = result.rows.get(table, 0) + count
        for category, count in account.requests_by_category.items():
            result.requests_by_category[category] = result.requests_by_category.get(category, 0) + count
        for stream, count in account.gaps.items():
            result.gaps[stream] = result.gaps.get(stream, 0) + count
        result.rejects += account.rejects
        result.skips += account.skips
        result.schema_changes += account.schema_changes
        result.retries += account.retries
        result.throttled += account.throttled
        result.sources.update(account.sources)
        if account.data_as_of is not None:
            result.data_as_of = min(account.data_as_of, result.data_as_of or account.data_as_of)
    if warehouses == 1:
        result.read_copy = results[0].read_copy if results else None
    result.accounts = [a.as_dict() for a in results]
    return result


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
