"""The SVG charts as markup: scales, one mark per value, escaped text, and an empty chart that says so."""

from __future__ import annotations

import itertools
import re

from hypothesis import given
from hypothesis import strategies as st

from etl.visual import svg
from etl.visual.svg import Series


@given(st.floats(min_value=0.001, max_value=1e12, allow_nan=False))
def test_ticks_start_at_zero_cover_the_top_and_step_evenly(top: float) -> None:
    scale = svg.ticks(top)
    assert scale[0] == 0 and scale[-1] >= top * (1 - 1e-9)
    steps = {round(b - a, 9) for a, b in itertools.pairwise(scale)}
    assert len(steps) == 1
    assert 2 <= len(scale) <= 6
    mantissa = float(f"{scale[1]:e}".split("e")[0])
    assert mantissa in (1.0, 2.0, 5.0)


def test_bars_draw_one_mark_per_label_and_series_with_its_value() -> None:
    chart = svg.bars(["a", "b", "c"], [Series("x", (1, 0, 3)), Series("y", (2, 2, 2), "min")], title="t")
    assert chart.count('class="mark"') == 6
    assert "<title>c: y 2 min</title>" in chart
    assert "<title>b: x 0</title>" in chart
    heights = [float(h) for h in re.findall(r'class="mark"[^>]* height="([0-9.]+)"', chart)]
    assert abs(heights[0] * 3 - heights[4]) < 0.2 and heights[2] == 0  # a (x=1) vs c (x=3); b (x=0)


def test_text_is_escaped_everywhere() -> None:
    hostile = '<script>alert("x")</script>'
    for chart in (
        svg.bars([hostile], [Series(hostile, (1,))], title=hostile),
        svg.line([hostile, "b"], [Series(hostile, (1, 2))], title=hostile),
        svg.hbars([hostile * 3], [Series(hostile, (1,))], title=hostile),
    ):
        assert "<script" not in chart and "&lt;script&gt;" in chart


def test_hbars_shorten_long_labels_and_keep_them_whole_on_hover() -> None:
    long = "Quarterly roadmap review with every team lead"
    chart = svg.hbars([long], [Series("n", (4,))], title="t", label_width=140)
    assert f"<title>{long}</title>" in chart
    assert ">Quarterly roadmap r…<" in chart


def test_no_data_is_said_not_drawn() -> None:
    for chart in (svg.bars([], [], title="t"), svg.line([], [], title="t"), svg.hbars([], [], title="t")):
        assert ">No data</text>" in chart and 'class="mark"' not in chart
