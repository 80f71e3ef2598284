"""A background loader: commit batch N on a worker thread while the caller normalizes batch N+1.

Why: decoding and normalizing hold the GIL most of the time, while DuckDB releases it as it writes;
on two cores the load of one batch can run beside the normalization of the next (measured on the
participant benchmark: the caller's thread does about 5 us of CPU a row, the worker about 2.5). The
raw pages are compressed in ``submit``, on the caller's thread: done on the worker, each page's
compression releases the GIL and must then wait for the caller to hand it back. The handoff has one
slot: ``submit`` waits until the previous batch is committed before it hands over the next, so at
most two batches are in memory and commits happen in submission order, each in its own transaction
exactly as ``commit`` does it.

How to use it (the pipeline's loop)::

    with BackgroundLoader(wh) as loader:
        for batch in batches:
            normalized = normalize(batch.pages, wh.contracts, run_id)   # overlaps the previous load
            loader.submit(run_id, normalized, pages=batch.pages, checkpoints=batch.checkpoints,
                          skips=batch.skips, sources=batch.sources, on_done=account_for)
        loader.drain()          # before anything else uses wh.conn (state, finish_run, analytics)

Rules: while a batch is in flight the worker owns ``wh.conn``: call ``drain()`` before using the
connection yourself (reading state, ``finish_run``, analytics). ``on_done(result)`` runs on the
caller's thread (inside the next ``submit`` or ``drain``), so it may update plain counters freely. An
error of a commit (its transaction rolled back) is raised by the next ``submit`` or ``drain``; batches
submitted after it are not written until the error has been raised, and then only if submitted anew.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

from etl.errors import WarehouseError, ZoomEtlError
from etl.load.batch import LoadResult, adopt, write
from etl.normalize import Normalized
from etl.records import Checkpoint, Gap, Page, Skip, SourceChoice
from etl.warehouse.connection import Warehouse
from etl.warehouse.raw import EncodedPages, encode_pages

OnDone = Callable[[LoadResult], None]


@dataclass(slots=True)
class _Job:
    run_id: str
    normalized: Normalized | None
    pages: EncodedPages
    checkpoints: Sequence[Checkpoint]
    skips: Sequence[Skip]
    sources: Sequence[SourceChoice]
    gaps: Sequence[Gap]
    on_done: OnDone | None
    result: LoadResult | None = None
    error: BaseException | None = None


class BackgroundLoader:
    """Commits submitted batches one at a time on a worker thread; see the module docstring."""

    def __init__(self, wh: Warehouse) -> None:
        self.wh = wh
        self._cond = threading.Condition()
        self._pending: _Job | None = None  # handed over, not yet picked up
        self._running: _Job | None = None  # picked up, being written
        self._finished: _Job | None = None  # written (or failed), not yet reported
        self._closed = False
        self.busy_seconds = 0.0  # wall time the worker spent writing
        self.cpu_seconds = 0.0  # CPU time of the worker thread itself (not DuckDB's own threads)
        self._thread = threading.Thread(target=self._work, name="zoom-etl-loader", daemon=True)
        self._thread.start()

    def submit(
        self,
        run_id: str,
        normalized: Normalized | None = None,
        *,
        pages: Sequence[Page] | EncodedPages = (),
        checkpoints: Sequence[Checkpoint] = (),
        skips: Sequence[Skip] = (),
        sources: Sequence[SourceChoice] = (),
        gaps: Sequence[Gap] = (),
        on_done: OnDone | None = None,
    ) -> None:
        """Hand over one batch (the arguments of ``etl.load.commit``; ``pages`` may come encoded
        already). Waits for the previous batch to be committed first, reports it (``on_done``) and
        raises its error, if it failed."""
        # Compress here, where the GIL is held anyway: on the worker, each page's compression would
        # release the GIL and then wait for the caller's thread to give it back. The job keeps only the
        # compressed pages, so the records can be freed while the batch is written.
        if not self.wh.raw or not len(pages):
            landing = EncodedPages.empty()
        else:
            landing = pages if isinstance(pages, EncodedPages) else encode_pages(pages)
        self.drain()
        job = _Job(run_id, normalized, landing, checkpoints, skips, sources, gaps, on_done)
        with self._cond:
            if self._closed:
                raise RuntimeError("BackgroundLoader is closed")
            self._pending = job
            self._cond.notify_all()

    def drain(self) -> LoadResult | None:
        """Wait until nothing is in flight; report the last batch and return its result (None if
        there was none to report). Raises the error of a failed commit."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending is None and self._running is None)
            job, self._finished = self._finished, None
        if job is None:
            return None
        if job.error is not None:
            if isinstance(job.error, Exception) and not isinstance(job.error, ZoomEtlError):
                # Outside the transaction (after its commit): still a failed load, said as one.
                raise WarehouseError(f"loading batch failed: {job.error}") from job.error
            raise job.error
        assert job.result is not None
        adopt(self.wh, job.normalized)
        if job.on_done is not None:
            job.on_done(job.result)
        return job.result

    def close(self) -> None:
        """Stop the worker after the batch in flight (without reporting it: call ``drain`` for that)."""
        with self._cond:
            self._cond.wait_for(lambda: self._pending is None and self._running is None)
            self._closed = True
            self._cond.notify_all()
        self._thread.join()

    def __enter__(self) -> BackgroundLoader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if exc_type is None:
                self.drain()
        finally:
            self.close()

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None or self._closed)
                if self._pending is None:
                    return
                job, self._pending, self._running = self._pending, None, self._pending
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                job.result = write(
                    self.wh,
                    job.run_id,
                    job.normalized,
                    pages=job.pages,
                    checkpoints=job.checkpoints,
                    skips=job.skips,
                    sources=job.sources,
                    gaps=job.gaps,
                )
            except BaseException as exc:  # reported to the caller by drain()
                job.error = exc
            self.busy_seconds += time.perf_counter() - started
            self.cpu_seconds += time.thread_time() - cpu
            with self._cond:
                self._running, self._finished = None, job
                self._cond.notify_all()
