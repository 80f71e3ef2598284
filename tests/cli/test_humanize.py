"""Ages, durations and codes for people (``etl.humanize``)."""

from __future__ import annotations

import pytest

from etl.humanize import age, duration, parse_duration, user_type


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.4, "just now"), (42, "42 s ago"), (300, "5 min ago"), (3 * 3600 + 12 * 60 + 5, "3 h 12 min ago"),
     (7200, "2 h ago"), (2 * 86400 + 4 * 3600 + 59, "2 d 4 h ago"), (None, "never")],
)  # fmt: skip
def test_age(seconds: float | None, text: str) -> None:
    assert age(seconds) == text


def test_durations_parse_and_print() -> None:
    assert [parse_duration(t) for t in ("90s", "30min", "2h", "1d", "1.5h", " 45 m ")] == [
        90, 1800, 7200, 86400, 5400, 2700
    ]  # fmt: skip
    assert duration(7200) == "2 h"
    for bad in ("2", "two hours", "2w", "-1h", ""):
        with pytest.raises(ValueError, match="90s, 30min, 2h or 1d"):
            parse_duration(bad)


def test_user_types_as_zooms_openapi_file_names_them() -> None:
    assert [user_type(v) for v in (1, 2, 4, 99, 3, None, "x")] == [
        "Basic", "Licensed", "No Meeting License", "None", 3, None, "x"
    ]  # fmt: skip
