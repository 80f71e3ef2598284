"""Zoom's time and duration formats: examples, and properties against the pure-Python reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.normalize import parse


def times(values: list[str | None]) -> list[datetime | None]:
    return (
        pl.DataFrame({"s": values}, schema={"s": pl.String})
        .select(parse.timestamp(pl.col("s")))
        .to_series()
        .to_list()
    )


def durations(values: list[str | None], unit: str) -> list[int | None]:
    frame = pl.DataFrame({"s": values}, schema={"s": pl.String})
    return frame.select(parse.duration(pl.col("s"), unit, pl.Int64())).to_series().to_list()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-03-23T06:58:09Z", datetime(2022, 3, 23, 6, 58, 9, tzinfo=UTC)),
        ("2019-02-01T12:34:12.660Z", datetime(2019, 2, 1, 12, 34, 12, 660000, tzinfo=UTC)),
        ("12/22/2021 16:20", datetime(2021, 12, 22, 16, 20, tzinfo=UTC)),
        ("2022-03-23T08:58:09+02:00", datetime(2022, 3, 23, 6, 58, 9, tzinfo=UTC)),
        ("2022-03-23T06:58:09.123456789Z", datetime(2022, 3, 23, 6, 58, 9, 123456, tzinfo=UTC)),
        ("2022-03-23 06:58:09", datetime(2022, 3, 23, 6, 58, 9, tzinfo=UTC)),
        ("not a time", None),
        ("13/45/2021 16:20", None),
        ("", None),
        (None, None),
    ],
)
def test_every_zoom_time_format(text: str | None, expected: datetime | None) -> None:
    assert times([text]) == [expected]
    if (text is not None and " " not in text.strip("0123456789/:")) or (text and "T" in text):
        assert parse.parse_timestamp(text) == expected


@pytest.mark.parametrize(
    ("text", "seconds", "minutes"),
    [
        ("55:01", 3301, 55),
        ("1:02:03", 3723, 62),
        ("00:56", 56, 1),
        ("00:29", 29, 0),
        ("259", 259, 259),
        ("259.0", 259, 259),
        ("259.5", None, None),
        ("100:00:00", 360000, 6000),
        ("1:60", None, None),
        ("abc", None, None),
        ("", None, None),
    ],
)
def test_durations(text: str, seconds: int | None, minutes: int | None) -> None:
    assert durations([text], "seconds") == [seconds]
    assert durations([text], "minutes") == [minutes]
    assert parse.parse_duration(text, "seconds") == seconds


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7220", 7220),
        ("7220.0", 7220),
        ("7220.", 7220),
        (" -3.00 ", -3),
        ("7220.5", None),
        ("7.22e3", None),
        ("x1.0", None),
    ],
)
def test_integers_accept_an_integral_float_spelling_only(text: str, expected: int | None) -> None:
    """Zoom's OpenAPI types sizes such as ``file_size`` as ``number``: 7220.0 is 7220, 7220.5 no integer."""
    frame = pl.DataFrame({"s": [text]}, schema={"s": pl.String})
    assert frame.select(parse.integer(pl.col("s"), pl.Int64())).to_series().to_list() == [expected]


aware = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(tzinfo=UTC))


@settings(max_examples=200, deadline=None)
@given(aware)
def test_iso_z_round_trips(value: datetime) -> None:
    text = (
        value.strftime("%Y-%m-%dT%H:%M:%S") + (f".{value.microsecond:06d}" if value.microsecond else "") + "Z"
    )
    assert times([text]) == [value]
    assert parse.parse_timestamp(text) == value


@settings(max_examples=200, deadline=None)
@given(aware, st.integers(min_value=-12 * 60, max_value=14 * 60))
def test_offsets_convert_to_utc(value: datetime, offset_minutes: int) -> None:
    value = value.replace(microsecond=0)
    local = value + timedelta(minutes=offset_minutes)
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = f"{local:%Y-%m-%dT%H:%M:%S}{sign}{hours:02d}:{minutes:02d}"
    assert times([text]) == [value]
    assert parse.parse_timestamp(text) == value


@settings(max_examples=200, deadline=None)
@given(aware)
def test_report_listing_format_is_utc_to_the_minute(value: datetime) -> None:
    text = value.strftime("%m/%d/%Y %H:%M")
    expected = value.replace(second=0, microsecond=0)
    assert times([text]) == [expected]
    assert parse.parse_timestamp(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=99 * 3600))
def test_clock_durations_round_trip(seconds: int) -> None:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    texts = [f"{hours}:{minutes:02d}:{secs:02d}"]
    if hours == 0:
        texts.append(f"{minutes:02d}:{secs:02d}")
    for text in texts:
        assert durations([text], "seconds") == [seconds]
        assert durations([text], "minutes") == [(seconds + 30) // 60]
        assert parse.parse_duration(text) == seconds


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789:/-TZ.+ ", max_size=25))
def test_vectorized_parsers_agree_with_reference_on_any_text(text: str) -> None:
    assert durations([text], "seconds") == [parse.parse_duration(text)]
    assert times([text]) == [parse.parse_timestamp(text)]
