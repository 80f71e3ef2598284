"""The warehouse handle: one DuckDB connection, the writer lock, the live contracts, run bookkeeping.

``Warehouse.open`` takes the lock before it touches the file (a second writer fails with
``LockedError`` before DuckDB's own file lock could give a less helpful error), sets the session to UTC,
creates or migrates every table, and loads the contracts plus the columns schema drift added earlier.
Anything else holding the file (a DuckDB session that opened the warehouse itself rather than its read
copy) is a ``LockedError`` too, so the exit code is 75 whatever holds the lock. ``wait`` keeps trying
for that many seconds first.

A writer opened with ``publish=True`` (a sync, a rebuild) publishes the read copy when it closes, after
DuckDB has checkpointed and closed the file and before the lock is released (``etl.warehouse.publish``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import duckdb
import orjson

from etl.contracts import Contract, load_contracts
from etl.errors import LockedError, WarehouseError, ZoomEtlError
from etl.warehouse import ddl
from etl.warehouse.lock import WarehouseLock
from etl.warehouse.publish import Published, read_path
from etl.warehouse.publish import publish as _publish

CATALOG = "warehouse"
log = logging.getLogger(__name__)
LOCK_POLL_S = 0.5
_LOCK_PID = re.compile(r"PID (\d+)")
ROW_GROUP_SIZE = 16_384
CHECKPOINT_THRESHOLD = "64MB"
MEMORY_LIMIT = "64MB"


def scalar(conn: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Any:
    """The first value of a query, reading the whole result (an unread result blocks the connection)."""
    rows = conn.execute(sql, list(params)).fetchall()
    return rows[0][0] if rows else None


def _sql_text(value: str) -> str:
    return value.replace("'", "''")


@dataclass(slots=True)
class RunCounters:
    """Per-run totals, written to ``_etl.runs`` inside every batch transaction."""

    rows: dict[str, int] = field(default_factory=dict)
    rejects: int = 0
    skips: int = 0
    schema_changes: int = 0
    # New fields recorded per stream (discarded or frozen ones; capped per run and stream), and the
    # fields left out once a stream reached the cap (``etl.load.bookkeeping.MAX_RECORDED_CHANGES``).
    recorded_changes: dict[str, int] = field(default_factory=dict)
    unrecorded_changes: set[tuple[str, str]] = field(default_factory=set)


class Warehouse:
    """An open, locked warehouse. Use as a context manager, or call ``close()``."""

    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        path: Path | None,
        contracts: dict[str, Contract],
        lock: WarehouseLock | None,
        raw: bool,
        publish: bool = False,
    ) -> None:
        self.conn = conn
        self.path = path
        self.contracts = contracts
        self.raw = raw
        self.publish = publish and path is not None
        self.published: Published | None = None  # set by close() when it published
        self.publish_error = ""  # set by close() when publishing failed
        self._lock = lock
        # One thread at a time on ``conn``: accounts synced at once into this warehouse load one batch
        # after another (DuckDB has one writer), and read their state between those loads.
        self.busy = threading.RLock()
        self.counters: dict[str, RunCounters] = {}
        self._batch_seq = int(scalar(conn, "SELECT coalesce(max(batch_seq), 0) FROM raw.pages"))
        self._change_seq = int(scalar(conn, "SELECT coalesce(max(seq), 0) FROM _etl.schema_changes"))

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        raw: bool = True,
        contracts: Mapping[str, Contract] | None = None,
        threads: int | None = None,
        publish: bool = False,
        wait: float = 0.0,
    ) -> Warehouse:
        """Lock, connect, create/migrate. ``path`` ":memory:" is unlocked (tests, dry runs). ``wait``:
        seconds to keep trying while another process holds the file; ``publish``: see the module doc."""
        deadline, waited = time.monotonic() + wait, False
        while True:
            try:
                return cls._open(path, raw=raw, contracts=contracts, threads=threads, publish=publish)
            except LockedError as exc:
                if time.monotonic() >= deadline:
                    raise
                if not waited:  # once: the cron log says why this run started late
                    log.warning("waiting up to %.0fs for the warehouse: %s", wait, exc)
                    waited = True
                time.sleep(min(LOCK_POLL_S, max(0.0, deadline - time.monotonic())))

    @classmethod
    def _open(
        cls,
        path: str | Path,
        *,
        raw: bool,
        contracts: Mapping[str, Contract] | None,
        threads: int | None,
        publish: bool,
    ) -> Warehouse:
        memory = str(path) == ":memory:"
        # The real file: the lock, the read copy, the temporary directory all sit beside it, whatever
        # name (a symlink) the warehouse was reached by.
        file = None if memory else Path(path).resolve()
        lock = None
        if file is not None:
            try:  # a path under a file, a read-only directory...: one clear line, not a traceback
                file.parent.mkdir(parents=True, exist_ok=True)
                lock = WarehouseLock(file)
                lock.acquire()
            except OSError as exc:
                raise WarehouseError(f"cannot open warehouse {path}: {exc.strerror or exc}") from exc
        conn = duckdb.connect(":memory:")
        try:
            if file is not None:
                # DuckDB's buffer pool otherwise keeps every block it wrote (up to 80% of RAM), so a
                # sync's memory grew with the warehouse. Loads need little (a batch's rows, one hash
                # table); bigger queries on this connection spill to disk instead. (An in-memory
                # warehouse lives in that pool, so it keeps DuckDB's default.)
                # Both are set before ATTACH: attaching replays a WAL a killed writer left, and a
                # replay larger than the limit spills to the temporary directory, which cannot be
                # switched once used ("Cannot switch temporary directory after the current one has
                # been used"), and which would otherwise be ".tmp" of the current directory.
                conn.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
                conn.execute(f"SET temp_directory = '{_sql_text(str(file))}.tmp'")
                # Attached under a fixed name: connecting to "zoom.duckdb" directly would name the
                # catalog "zoom", and every "zoom.<table>" would then be ambiguous.
                # Row groups of 16k rows (DuckDB's default is 122,880): a transaction that appends a
                # full row group writes it compressed straight to the file instead of to the WAL (to be
                # compressed again at the next checkpoint), so a batch of participants costs about a
                # third less CPU and the un-checkpointed data held in memory stays small. Readers need
                # no option: the row group size only decides how new rows are laid out.
                conn.execute(
                    f"ATTACH '{_sql_text(str(file))}' AS {CATALOG} (ROW_GROUP_SIZE {ROW_GROUP_SIZE})"
                )
                conn.execute(f"USE {CATALOG}")
            conn.execute("SET TimeZone = 'UTC'")
            # Large batches bypass the WAL (above); small ones (users, meetings) go through it, and a
            # checkpoint folds it into the file once it reaches this size. Bigger means fewer, longer
            # checkpoints and more memory held meanwhile; tables have no key index to rewrite.
            conn.execute(f"SET checkpoint_threshold = '{CHECKPOINT_THRESHOLD}'")
            if threads:
                conn.execute(f"SET threads = {int(threads)}")
            base = dict(contracts) if contracts is not None else load_contracts()
            ddl.check_version(conn, str(path))
            ddl.create_all(conn, base.values())
            ddl.stamp_version(conn)
            live = evolved_contracts(conn, base)
            for contract in live.values():
                ddl.add_missing_columns(conn, contract)
        except duckdb.Error as exc:
            conn.close()
            if lock:
                lock.release()
            if isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower():
                pid = _LOCK_PID.search(str(exc))
                holder = f"pid {pid.group(1)}" if pid else "another process"
                raise LockedError(
                    f"warehouse {path} is held open by {holder} (a DuckDB session on the warehouse itself,"
                    f" not its read copy {read_path(Path(path)).name}): close it, or wait with --wait SECONDS"
                ) from None
            raise WarehouseError(f"cannot open warehouse {path}: {exc}") from exc
        except BaseException:
            conn.close()
            if lock:
                lock.release()
            raise
        return cls(conn, file, live, lock, raw, publish)

    def close(self, *, publish: bool | None = None) -> None:
        """Checkpoint and close the file; publish its read copy if opened with ``publish=True`` (or
        ``publish`` says so here); then release the lock.

        What is committed stays committed whatever happens here. A checkpoint or publish that fails (a
        full disk) leaves the previous read copy in place and is not raised: it is logged and kept in
        ``publish_error`` for the caller to report (a sync then exits 1)."""
        wanted = self.path is not None and (self.publish if publish is None else publish)
        try:
            try:
                if self.path is not None:
                    self.conn.execute("CHECKPOINT")
            finally:
                self.conn.close()
            if wanted and self.path is not None:
                self.published = _publish(self.path)
        except (OSError, duckdb.Error) as exc:
            if not wanted:
                raise WarehouseError(f"closing warehouse {self.path} failed: {exc}") from exc
            self.publish_error = f"the read copy was not published ({exc}); readers still see the last one"
            log.error("%s", self.publish_error)
        finally:
            if self._lock:
                self._lock.release()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close(publish=False if exc is not None else None)  # an exception: nothing new to show

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """BEGIN ... COMMIT; any exception rolls everything back and propagates (any error but zoom-etl's
        own as a ``WarehouseError``, so a sync ends ``failed`` with its message instead of a traceback)."""
        self.conn.execute("BEGIN TRANSACTION")
        try:
            yield self.conn
        except ZoomEtlError:
            self.conn.execute("ROLLBACK")
            raise
        except Exception as exc:  # DuckDB's own errors, a full disk (OSError), a frame DuckDB refuses
            self.conn.execute("ROLLBACK")
            first = first_error(exc)
            if isinstance(first, ZoomEtlError):
                raise first from None
            raise WarehouseError(f"write to {self.path} rolled back: {first}") from first
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        try:
            self.conn.execute("COMMIT")
        except duckdb.Error as exc:
            raise WarehouseError(f"commit to {self.path} failed: {exc}") from exc

    def next_batch_seq(self) -> int:
        """Ordinal of the next load transaction (raw pages replay in this order)."""
        self._batch_seq += 1
        return self._batch_seq

    def next_change_seq(self) -> int:
        self._change_seq += 1
        return self._change_seq

    # Runs.

    def start_run(
        self, streams: Sequence[str] = (), *, run_id: str | None = None, started_at: datetime | None = None
    ) -> str:
        """Record a run as ``running``; returns its id (a sortable UTC timestamp plus random suffix).

        Runs still ``running`` are ones a kill (or a crash) ended before they closed their row: this
        writer holds the lock, so none of them is alive. They become ``interrupted``, ended at their last
        committed batch (their start if they committed none)."""
        started = started_at or datetime.now(UTC)
        run_id = run_id or f"{started:%Y%m%dT%H%M%S}Z-{uuid.uuid4().hex[:8]}"
        self.conn.execute(
            "UPDATE _etl.runs AS r SET status = 'interrupted', ended_at = coalesce("
            " (SELECT max(s.updated_at) FROM _etl.state s WHERE s.run_id = r.run_id), r.started_at),"
            " message = ? WHERE r.status = 'running'",
            [f"ended without closing its run (killed or crashed); noticed by run {run_id}"],
        )
        self.conn.execute(
            "INSERT INTO _etl.runs (run_id, started_at, status, streams, rows_by_table, requests_by_category)"
            " VALUES (?, ?, 'running', ?, '{}', '{}')",
            [run_id, started, orjson.dumps(list(streams)).decode()],
        )
        self.counters[run_id] = RunCounters()
        return run_id

    def write_counters(self, run_id: str, counters: RunCounters) -> None:
        """Inside a batch transaction: the run's totals so far (so a killed run still shows them)."""
        self.conn.execute(
            "UPDATE _etl.runs SET rows_by_table = ?, rejects = ?, skips = ?, schema_changes = ?,"
            " schema_changes_unrecorded = ? WHERE run_id = ?",
            [
                orjson.dumps(counters.rows).decode(),
                counters.rejects,
                counters.skips,
                counters.schema_changes,
                len(counters.unrecorded_changes),
                run_id,
            ],
        )

    def finish_run(
        self,
        run_id: str,
        *,
        status: str,
        exit_code: int,
        requests_by_category: Mapping[str, int] | None = None,
        errors: int = 0,
        message: str = "",
        ended_at: datetime | None = None,
        retries: int = 0,
        throttled: int = 0,
        data_as_of: datetime | None = None,
        accounts: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Close the run's row: status (ok | partial | failed), exit code, request counts, retries, 429s,
        ``data_as_of``, Zoom's clock when the run began reading (the analytics' reference time), and
        what each of its accounts did (``etl.accounts.AccountResult.as_dict``)."""
        self.conn.execute(
            "UPDATE _etl.runs SET ended_at = ?, status = ?, exit_code = ?, requests_by_category = ?,"
            " errors = ?, message = ?, retries = ?, throttled = ?, data_as_of = ?, accounts = ?"
            " WHERE run_id = ?",
            [
                ended_at or datetime.now(UTC),
                status,
                exit_code,
                orjson.dumps(dict(requests_by_category or {})).decode(),
                errors,
                message,
                retries,
                throttled,
                data_as_of,
                orjson.dumps(list(accounts), default=str).decode(),
                run_id,
            ],
        )

    # State, for the extraction side to resume from.

    def state(self, stream: str, account_id: str) -> dict[str, Any] | None:
        state = scalar(
            self.conn,
            "SELECT state FROM _etl.state WHERE stream = ? AND account_id = ?",
            [stream, account_id],
        )
        return orjson.loads(state) if state is not None else None

    def source(self, stream: str, account_id: str) -> str | None:
        source = scalar(
            self.conn,
            "SELECT source FROM _etl.state WHERE stream = ? AND account_id = ?",
            [stream, account_id],
        )
        return str(source) if source is not None else None

    def done_keys(self, stream: str, account_id: str) -> set[str]:
        rows = self.conn.execute(
            "SELECT key FROM _etl.done_keys WHERE stream = ? AND account_id = ?", [stream, account_id]
        ).fetchall()
        return {r[0] for r in rows}


def first_error(exc: BaseException) -> BaseException:
    """The error that aborted a transaction. DuckDB refuses every later statement of it ("Current
    transaction is aborted"), an ``unregister`` in a ``finally`` included, and Python then reports that
    refusal with the first error only as its context."""
    while (
        isinstance(exc, duckdb.TransactionException)
        and "transaction is aborted" in str(exc)
        and exc.__context__ is not None
    ):
        exc = exc.__context__
    return exc


def evolved_contracts(
    conn: duckdb.DuckDBPyConnection, contracts: Mapping[str, Contract]
) -> dict[str, Contract]:
    """The contracts plus the columns schema drift added in earlier runs (``_etl.schema_changes``, evolve)."""
    rows = conn.execute(
        "SELECT table_name, column_name, column_type FROM _etl.schema_changes"
        " WHERE mode = 'evolve' ORDER BY seq"
    ).fetchall()
    added: dict[str, list[tuple[str, str]]] = {}
    for table, column, type_ in rows:
        added.setdefault(table, []).append((column, type_))
    return {
        name: contract.with_evolved(added[name]) if name in added else contract
        for name, contract in contracts.items()
    }
