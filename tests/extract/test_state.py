"""The stream tracker: what its checkpoints carry, and that they stay what they were when emitted."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from etl.extract.state import Tracker
from etl.extract.windows import Window

TODAY = date(2024, 7, 15)
HORIZON = date(2024, 7, 10)
JULY = Window(date(2024, 7, 1), date(2024, 7, 31))


def tracker(old_state: dict[str, Any] | None = None) -> Tracker:
    return Tracker(
        "meeting_participants",
        "acct",
        old_state or {},
        windows=[JULY],
        since=None,
        full_refresh=False,
        today=TODAY,
        now=datetime(2024, 7, 15, 12, tzinfo=UTC),
        seen_horizon=HORIZON,
        settled_before=date(2024, 7, 13),
        floor=None,
        source=lambda: "graphql",
    )


def test_checkpoints_carry_only_keys_within_the_horizon() -> None:
    old = {"seen": {"old": ["d0", "2024-07-01"], "kept": ["d1", "2024-07-11"], "bad": ["d2"], "odd": 7}}
    t = tracker(old)
    # An expired key of the last state still counts as fetched in this run, but is not saved again.
    assert not t.is_new("old", "d0") and t.is_new("old", "changed")
    assert not t.is_new("kept", "d1")
    assert t.is_new("bad", "d2")  # a malformed entry is not trusted
    t.key_done("recent", "d3", date(2024, 7, 14))
    t.key_done("ancient", "d4", date(2024, 6, 2))
    state = t.key_done("another", "d5", date(2024, 7, 10)).state
    assert state["seen"] == {
        "kept": ["d1", "2024-07-11"],
        "recent": ["d3", "2024-07-14"],
        "another": ["d5", "2024-07-10"],
    }
    assert len(t.seen) == 3  # the tracker does not grow with keys older than the horizon


def test_a_checkpoint_keeps_the_state_it_was_emitted_with() -> None:
    t = tracker()
    first = t.key_done("a", "d1", date(2024, 7, 12))
    t.note_skip("u1", JULY)
    second = t.key_done("b", "d2", date(2024, 7, 12))
    t.key_done("a", "d9", date(2024, 7, 12))  # the parent changed: a new digest
    t.revisited("u1")
    third = t.key_done("c", "d3", date(2024, 7, 12))
    assert first.state["seen"] == {"a": ["d1", "2024-07-12"]} and "skipped_users" not in first.state
    assert second.state["seen"] == {"a": ["d1", "2024-07-12"], "b": ["d2", "2024-07-12"]}
    assert second.state["skipped_users"] == {"u1": ["2024-07-01", "2024-07-31"]}
    assert third.state["seen"] == {
        "a": ["d9", "2024-07-12"],
        "b": ["d2", "2024-07-12"],
        "c": ["d3", "2024-07-12"],
    }
    assert "skipped_users" not in third.state  # the user came back: no skip left to record
    assert [c.done_keys for c in (first, second, third)] == [("a",), ("b",), ("c",)]


def test_checkpoints_follow_skips_and_revisits_after_a_first_copy() -> None:
    t = tracker()
    t.note_skip("u1", JULY)
    first = t.key_done("a", "d1", date(2024, 7, 12))
    t.note_skip("u2", JULY)
    second = t.key_done("b", "d2", date(2024, 7, 12))
    t.note_skip("u2", JULY)  # already covered: nothing changes
    t.revisited("u1")
    third = t.key_done("c", "d3", date(2024, 7, 12))
    assert first.state["skipped_users"] == {"u1": ["2024-07-01", "2024-07-31"]}
    assert second.state["skipped_users"] == {
        "u1": ["2024-07-01", "2024-07-31"],
        "u2": ["2024-07-01", "2024-07-31"],
    }
    assert third.state["skipped_users"] == {"u2": ["2024-07-01", "2024-07-31"]}


def test_skips_of_one_user_merge_into_one_range() -> None:
    t = tracker()
    t.note_skip("u1", JULY)
    t.note_skip("u1", Window(date(2024, 5, 1), date(2024, 5, 31)))
    t.note_skip("u2", JULY)
    assert t.finished().state["skipped_users"] == {
        "u1": ["2024-05-01", "2024-07-31"],
        "u2": ["2024-07-01", "2024-07-31"],
    }
