"""The scheduler: groups hold a checkpoint back until all their work (children included) is done,
failures reach the consumer, the event queue is bounded, lanes run side by side."""

from __future__ import annotations

import threading

import pytest

from etl.extract.engine import fit_lanes, nested_page_size
from etl.extract.scheduler import Group, Scheduler, lane_sizes
from etl.records import Checkpoint, Skip


def skip(name: str) -> Skip:
    return Skip("s", "acct", name, "test")


def test_group_checkpoint_comes_after_every_page_of_its_tasks_and_children() -> None:
    scheduler = Scheduler({"heavy": 3, "medium": 2})
    group = Group("window", on_done=lambda emit: emit(Checkpoint("s", "acct", {"done": True})))

    def child(index: int):
        return lambda emit: emit(skip(f"child {index}"))

    def parent(emit) -> None:
        for index in range(20):
            scheduler.submit("heavy", child(index), depth=1, groups=[group])
        emit(skip("parent"))

    scheduler.submit("medium", parent, groups=[group])
    events = list(scheduler.events())
    assert isinstance(events[-1], Checkpoint)
    assert sorted(e.resource for e in events[:-1]) == sorted(["parent", *[f"child {i}" for i in range(20)]])


def test_a_failing_task_is_raised_on_the_consumer_thread() -> None:
    scheduler = Scheduler({"light": 2})

    def boom(emit) -> None:
        raise RuntimeError("boom")

    scheduler.submit("light", boom)
    for index in range(5):
        scheduler.submit("light", lambda emit, i=index: emit(skip(str(i))))
    with pytest.raises(RuntimeError, match="boom"):
        list(scheduler.events())


def test_more_workers_failing_at_once_than_the_queue_holds_do_not_hang_the_consumer() -> None:
    """Every worker fails together (a server that always errors): the first failure is raised and the
    workers still blocked putting theirs into a full queue exit instead of waiting forever."""
    workers = 8
    scheduler = Scheduler({"light": workers}, queue_size=2)
    all_started = threading.Barrier(workers)

    def fail(emit) -> None:
        all_started.wait(5)
        raise RuntimeError("server down")

    for _ in range(workers):
        scheduler.submit("light", fail)
    done = threading.Event()

    def consume() -> None:
        with pytest.raises(RuntimeError, match="server down"):
            list(scheduler.events())
        done.set()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    assert done.wait(10), "the consumer hung behind workers blocked on a full event queue"


def test_the_event_queue_is_bounded_and_closing_the_consumer_cancels() -> None:
    scheduler = Scheduler({"light": 1}, queue_size=2)
    produced = []
    blocked = threading.Event()

    def many(emit) -> None:
        for index in range(100):
            if index == 3:
                blocked.set()
            emit(skip(str(index)))
            produced.append(index)

    scheduler.submit("light", many)
    events = scheduler.events()
    first = next(events)
    assert blocked.wait(5)
    assert first.resource == "0" and len(produced) <= 4  # 1 taken + 2 queued + 1 waiting to be put
    events.close()
    assert scheduler.cancelled and len(produced) < 100


def test_lanes_run_side_by_side() -> None:
    """A Heavy task that cannot finish until a Medium task ran proves Medium is not stuck behind it."""
    scheduler = Scheduler({"heavy": 1, "medium": 1})
    medium_ran = threading.Event()

    def heavy(emit) -> None:
        assert medium_ran.wait(5)
        emit(skip("heavy"))

    scheduler.submit("heavy", heavy)
    scheduler.submit("medium", lambda emit: (medium_ran.set(), emit(skip("medium"))))
    assert {e.resource for e in scheduler.events()} == {"heavy", "medium"}


def test_no_tasks_means_no_events() -> None:
    assert list(Scheduler({"light": 1}).events()) == []


def test_lane_sizing() -> None:
    pro = lane_sizes(
        {"light": 30, "medium": 20, "heavy": 10, "resource_intensive": 10 / 60}, share=0.8, scale=1
    )
    assert pro == {"light": 9, "medium": 6, "heavy": 4, "resource_intensive": 2}
    assert fit_lanes(pro, 64) == pro
    # Over the cap, Heavy (most of a sync) is served first, then Medium; every lane keeps one worker.
    assert fit_lanes(pro, 12) == {"light": 1, "medium": 6, "heavy": 4, "resource_intensive": 1}
    scaled = lane_sizes(
        {"light": 300, "medium": 200, "heavy": 100, "resource_intensive": 1}, share=1, scale=1
    )
    fitted = fit_lanes(scaled, 64)
    assert sum(fitted.values()) == 64 and fitted["heavy"] == scaled["heavy"] and fitted["light"] >= 1
    assert nested_page_size(16.0) == 15 and nested_page_size(0.5) == 1 and nested_page_size(10_000) == 300
