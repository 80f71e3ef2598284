"""The one concurrency model of extraction: worker threads per rate-limit lane, events through a bounded
queue, consumed on the caller's thread.

Why lanes: Zoom's limits are per category, so Light, Medium and Heavy work must run side by side. If every
worker could take any task, all of them would end up waiting for Heavy slots in the rate limiter while
Medium work sat in the queue. Each category gets its own workers, sized so that its requests in flight
cover its rate at 100-300 ms of latency (``lane_sizes``).

Why priorities: a task's children (participants of a listed instance) run before more listings of the same
lane, so the backlog of submitted tasks stays small whatever the account size (depth-first).

Why groups: a ``Group`` counts the tasks still open for one piece of work (a month window of a stream);
tasks that spawn children add them to their groups before finishing, so a group reaches zero only when all
its work, children included, is done. Its ``on_done`` then emits the held-back ``Checkpoint``.

Backpressure: ``emit`` blocks while the event queue is full, so a slow loader slows extraction down instead
of buffering pages. Closing the consumer (or a task failing) cancels: queued tasks are dropped and
blocked workers give up.
"""

from __future__ import annotations

import itertools
import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from etl.records import Event

LATENCY_S = 0.3  # the worst simulated latency the lanes are sized for
EVENT_QUEUE_SIZE = 16  # events waiting for the pipeline: at most 16 pages of 300 decoded records (~10 MB)
_POLL_S = 0.1

Emit = Callable[[Event], None]


class Cancelled(Exception):
    """Raised inside a task when the run is being cancelled."""


def lane_sizes(per_second: Mapping[str, float], *, share: float, scale: float) -> dict[str, int]:
    """Workers per category: requests in flight needed to reach the limit at ``LATENCY_S``, plus one."""
    return {
        name: max(1, math.ceil(rate * share * scale * LATENCY_S) + 1) for name, rate in per_second.items()
    }


@dataclass(eq=False, slots=True)
class Group:
    """Open tasks of one piece of work; ``on_done`` runs once when the last one finishes."""

    name: str
    on_done: Callable[[Emit], None] | None = None
    tag: str = ""  # the stream whose checkpoint it holds back
    month: tuple[int, int] | None = None  # the window it holds back, for windowed streams
    open: int = 0
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self) -> None:
        with self.lock:
            if self.closed:
                raise RuntimeError(f"group {self.name} already finished")
            self.open += 1

    def leave(self) -> bool:
        """True when this was the last open task."""
        with self.lock:
            self.open -= 1
            if self.open == 0:
                self.closed = True
                return True
            return False


@dataclass(order=True, slots=True)
class _Task:
    depth: int
    seq: int
    fn: Callable[[Emit], None] = field(compare=False)
    groups: tuple[Group, ...] = field(compare=False, default=())


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


class Scheduler:
    """Run tasks on per-lane workers; ``events()`` yields what they emit until every task is done."""

    def __init__(self, lanes: Mapping[str, int], *, queue_size: int = EVENT_QUEUE_SIZE) -> None:
        self._lanes = {name: queue.PriorityQueue[_Task]() for name in lanes}
        self._sizes = dict(lanes)
        self._events: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._seq = itertools.count()
        self._open = 0
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._consumer_gone = threading.Event()
        self._started = False

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def submit(
        self, lane: str, fn: Callable[[Emit], None], *, depth: int = 0, groups: Iterable[Group] = ()
    ) -> None:
        """Queue ``fn(emit)`` on ``lane``; it counts as open in every group until it returns."""
        members = tuple(groups)
        for group in members:
            group.enter()
        with self._lock:
            self._open += 1
        self._lanes[lane].put(_Task(-depth, next(self._seq), fn, members))

    def emit(self, event: Event) -> None:
        """Hand one event to the consumer; blocks while the queue is full (backpressure)."""
        self._put(event)

    def events(self) -> Iterator[Event]:
        """Start the workers and yield events on the caller's thread until all tasks are done."""
        if self._started:
            raise RuntimeError("a scheduler runs once")
        self._started = True
        with self._lock:
            if self._open == 0:
                return
        total = sum(self._sizes.values())
        with ThreadPoolExecutor(max_workers=total, thread_name_prefix="extract") as pool:
            for lane, size in self._sizes.items():
                for _ in range(size):
                    pool.submit(self._work, lane)
            try:
                while True:
                    item = self._events.get()
                    if item is _DONE:
                        return
                    if isinstance(item, _Failure):
                        raise item.error
                    yield item  # type: ignore[misc]
            finally:
                self._cancel.set()
                self._consumer_gone.set()
                self._drain()

    # ---- workers ---------------------------------------------------------------------------------------

    def _work(self, lane: str) -> None:
        tasks = self._lanes[lane]
        while not self._cancel.is_set():
            try:
                task = tasks.get(timeout=_POLL_S)
            except queue.Empty:
                continue
            try:
                task.fn(self._put)
                for group in task.groups:
                    if group.leave() and group.on_done is not None:
                        group.on_done(self._put)
            except Cancelled:
                return
            except BaseException as exc:  # handed to the consumer, which re-raises it
                self._cancel.set()
                self._force(_Failure(exc))
                return
            with self._lock:
                self._open -= 1
                finished = self._open == 0
            if finished:
                self._force(_DONE)

    def _put(self, item: object) -> None:
        if not self._offer(item, until=self._cancel):
            raise Cancelled

    def _offer(self, item: object, *, until: threading.Event) -> bool:
        """Put ``item``, waiting for room while ``until`` is not set; whether it was put."""
        while not until.is_set():
            try:
                self._events.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _force(self, item: object) -> None:
        """Put even when cancelled: the failure or the end must reach the consumer, so this never drops
        an item while the consumer reads (a dropped page followed by its checkpoint would lose data).
        Once the consumer is gone nobody reads: the item is dropped rather than waited on forever (when
        more workers fail at once than the queue holds, the drain makes room for only some of them)."""
        self._offer(item, until=self._consumer_gone)

    def _drain(self) -> None:
        for tasks in self._lanes.values():
            while True:
                try:
                    tasks.get_nowait()
                except queue.Empty:
                    break
        while True:
            try:
                self._events.get_nowait()
            except queue.Empty:
                break
