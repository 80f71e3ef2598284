"""Pure time logic: month windows, ranges, watermarks, the "could not have hosted" rule."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from etl.extract.windows import (
    Window,
    add_months,
    advance_watermark,
    cannot_have_hosted,
    merge_skip,
    merged_watermark,
    month_windows,
    report_floor,
    revisit_windows,
    stream_range,
)

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))


@given(days, st.integers(min_value=0, max_value=800))
def test_month_windows_cover_the_range_exactly_within_one_month_each(start: date, span: int) -> None:
    end = date.fromordinal(start.toordinal() + span)
    windows = month_windows(start, end)
    assert windows[0].start == start and windows[-1].end == end
    for window, following in pairwise(windows):
        assert following.start.toordinal() == window.end.toordinal() + 1
    for window in windows:
        assert window.start.month == window.end.month and window.end <= add_months(window.start, 1)


def test_month_windows_empty_when_start_after_end() -> None:
    assert month_windows(date(2024, 2, 1), date(2024, 1, 1)) == []


def test_report_floor_is_inside_zooms_six_months() -> None:
    assert report_floor(date(2024, 8, 31)) == date(2024, 3, 1)
    assert report_floor(date(2024, 7, 15)) == date(2024, 1, 16)


def test_stream_range_cases() -> None:
    today = date(2024, 7, 15)
    common = {"today": today, "lookback_days": 2, "floor": report_floor(today)}
    first = stream_range({}, since=None, full_refresh=False, **common)
    assert (first.start, first.end, first.reason) == (date(2024, 1, 16), today, "first run")
    incremental = stream_range({"watermark": "2024-07-14"}, since=None, full_refresh=False, **common)
    assert incremental.start == date(2024, 7, 12)
    full = stream_range({"watermark": "2024-07-14"}, since=None, full_refresh=True, **common)
    assert full.start == date(2024, 1, 16)
    backfill = stream_range({}, since=date(2023, 6, 1), full_refresh=False, **common)
    assert backfill.start == date(2024, 1, 16)
    assert backfill.unreachable == (date(2023, 6, 1), date(2024, 1, 15))
    resumed_state = {"watermark": "2024-07-14", "backfill": {"since": "2024-02-01", "through": "2024-03-31"}}
    resumed = stream_range(resumed_state, since=date(2024, 2, 1), full_refresh=False, **common)
    assert resumed.start == date(2024, 4, 1) and "resumed" in resumed.reason
    no_floor = stream_range(
        {}, since=date(2023, 6, 1), full_refresh=False, today=today, lookback_days=2, floor=None
    )
    assert no_floor.start == date(2023, 6, 1) and no_floor.unreachable is None


def test_watermark_advances_only_over_an_unbroken_prefix() -> None:
    windows = month_windows(date(2024, 1, 10), date(2024, 3, 5))
    assert advance_watermark(windows, []) is None
    assert advance_watermark(windows, [windows[1], windows[2]]) is None
    assert advance_watermark(windows, [windows[0], windows[2]]) == date(2024, 1, 31)
    assert advance_watermark(windows, windows) == date(2024, 3, 5)
    assert merged_watermark("2024-05-01", date(2024, 3, 5)) == "2024-05-01"
    assert merged_watermark(None, date(2024, 3, 5)) == "2024-03-05"
    assert merged_watermark(None, None) is None


def test_cannot_have_hosted() -> None:
    window = Window(date(2024, 5, 1), date(2024, 5, 31))
    assert cannot_have_hosted({"status": "pending"}, window) == "pending user"
    assert (
        cannot_have_hosted({"user_created_at": "2024-06-02T00:00:00Z"}, window) == "created after the window"
    )
    assert "last sign-in" in cannot_have_hosted({"last_login_time": "2024-03-01T00:00:00Z"}, window)
    assert cannot_have_hosted({"last_login_time": "2024-04-10T00:00:00Z"}, window) == ""  # within the margin
    assert cannot_have_hosted({"status": "active", "last_login_time": None}, window) == ""


def test_skips_are_merged_and_revisited_when_the_user_comes_back() -> None:
    may, june = Window(date(2024, 5, 1), date(2024, 5, 31)), Window(date(2024, 6, 1), date(2024, 6, 30))
    skipped = {"u1": merge_skip(merge_skip(None, june), may)}
    assert skipped == {"u1": ["2024-05-01", "2024-06-30"]}
    dormant = {"id": "u1", "last_login_time": "2023-01-01T00:00:00Z"}
    assert revisit_windows(skipped, dormant, None, date(2024, 7, 15)) == []
    back = {"id": "u1", "last_login_time": "2024-07-01T00:00:00Z"}
    assert revisit_windows(skipped, back, None, date(2024, 7, 15)) == [may, june]
    assert revisit_windows(skipped, {"id": "u2"}, None, date(2024, 7, 15)) == []
