"""Peak concurrency against a brute force: count the open segments at every instant that could be a peak."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from warehouse_rows import insert

from etl.analytics import apply
from etl.warehouse.connection import Warehouse

BASE = datetime(2024, 3, 10, 20, tzinfo=UTC)
segments = st.lists(
    st.tuples(st.integers(0, 48 * 60), st.integers(0, 30 * 60)).map(
        lambda s: (BASE + timedelta(minutes=s[0]), BASE + timedelta(minutes=s[0] + s[1]))
    ),
    min_size=1,
    max_size=12,
)


def brute_force(segs: list[tuple[datetime, datetime]]) -> dict[date, tuple[int, datetime]]:
    """Per UTC day: the most segments open at once (join <= t < leave) and the first instant of it."""

    def open_at(t: datetime) -> int:
        return sum(1 for join, leave in segs if join <= t < leave)

    candidates: dict[date, set[datetime]] = {}
    for join, leave in segs:
        candidates.setdefault(join.date(), set()).add(join)
        candidates.setdefault(leave.date(), set())
        day = join.date() + timedelta(days=1)
        while day <= leave.date():  # every midnight the segment is still open at (or ends on)
            candidates.setdefault(day, set()).add(datetime(day.year, day.month, day.day, tzinfo=UTC))
            day += timedelta(days=1)
    out = {}
    for day, instants in candidates.items():
        if not instants:  # only leaves that day: its peak is carried in at midnight, added above
            continue
        peak = max(open_at(t) for t in instants)
        out[day] = (peak, min(t for t in instants if open_at(t) == peak))
    return out


@functools.cache
def shared_warehouse() -> Warehouse:
    """One in-memory warehouse for every example (the DDL is the slow part); emptied before each."""
    warehouse = Warehouse.open(":memory:")
    apply(warehouse.conn)
    return warehouse


@settings(max_examples=80, deadline=None)
@given(segments)
def test_peak_concurrency_matches_brute_force(segs: list[tuple[datetime, datetime]]) -> None:
    conn = shared_warehouse().conn
    conn.execute("DELETE FROM zoom.meeting_participants")
    insert(
        conn,
        "meeting_participants",
        [
            {"meeting_uuid": "m", "participant_key": f"p{i}", "join_time": j, "leave_time": lv}
            for i, (j, lv) in enumerate(segs)
        ],
    )
    got = conn.execute("SELECT day, peak_participants, peak_at FROM analytics.peak_concurrency").fetchall()
    assert {d: (p, t) for d, p, t in got} == brute_force(segs)
