"""The pages in a real headless Chromium: they render, every chart and the diagram are drawn, the console
stays clean, nothing is fetched but the file itself, and hostile names from the warehouse stay text."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.contracts import load_contracts
from etl.recordings.tables import file_contracts
from etl.streams import STREAMS
from etl.visual.erd import relations
from etl.warehouse.connection import Warehouse

pytestmark = pytest.mark.slow

CHARTS = 6  # meetings, minutes, peak concurrency, licenses, webinars, recordings
HOSTILE = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"

# Per chart: its size, and how many of its marks (bars, lines) the browser laid out with a non-zero size.
DRAWN = """() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const box = svg.getBoundingClientRect();
  const marks = [...svg.querySelectorAll('.mark')].filter(m => {
    const b = m.getBBox(); return b.width > 0 || b.height > 0; });
  return {label: svg.getAttribute('aria-label'), width: box.width, height: box.height, marks: marks.length};
})"""


@dataclass
class Visit:
    """What the browser saw while it opened one page."""

    page: Any
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def visit(browser: Any, path: Path) -> Visit:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen = Visit(page)
    page.on("console", lambda m: seen.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    page.on("request", lambda r: seen.requests.append(r.url))
    page.on("requestfailed", lambda r: seen.failed.append(r.url))
    page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri(), wait_until="load")
    return seen


def assert_clean(seen: Visit, path: Path) -> None:
    assert seen.console == []
    assert seen.errors == []
    assert seen.failed == []
    assert seen.dialogs == []
    assert seen.requests == [path.as_uri()]  # the page itself, nothing else


def test_the_demo_report_renders_every_chart_with_a_clean_console(browser: Any, demo_run: Any) -> None:
    report = demo_run.folder / "demo_report.html"
    assert f"the HTML report (charts, freshness, last runs; opens offline): {report.name}" in demo_run.stdout
    seen = visit(browser, report)
    assert_clean(seen, report)
    charts = seen.page.evaluate(DRAWN)
    assert len(charts) == CHARTS
    for chart in charts:
        assert chart["width"] > 300 and chart["height"] > 50, chart
        assert chart["marks"] > 0, chart
    sections = seen.page.locator("section h2").all_inner_texts()
    assert {"Freshness of every stream", "Last runs", "Webinar attendance"} <= set(sections)
    # Both demo syncs are listed, and every stream has a freshness row.
    assert seen.page.locator("#runs tr").count() == 1 + 2
    assert seen.page.locator("#freshness tr").count() == 1 + len(STREAMS)
    seen.page.close()


def test_the_data_dictionary_draws_its_diagram(browser: Any, demo_run: Any) -> None:
    docs = demo_run.folder / "docs.html"
    result = CliRunner().invoke(cli, ["docs", "--html", str(docs), "--warehouse", str(demo_run.warehouse)])
    assert result.exit_code == 0, result.output
    seen = visit(browser, docs)
    assert_clean(seen, docs)
    diagram = seen.page.locator("svg.erd")
    box = diagram.bounding_box()
    assert box is not None and box["width"] > 800 and box["height"] > 300
    tables = seen.page.locator("svg.erd g.table")
    contracts = {**load_contracts(), **file_contracts()}  # what `docs` draws: every table of the warehouse
    assert tables.count() == len(contracts) >= 17
    for i in range(tables.count()):
        table_box = tables.nth(i).bounding_box()
        assert table_box is not None and table_box["width"] > 100 and table_box["height"] > 30
    assert seen.page.locator("svg.erd g.link").count() == len(relations(contracts)) >= 10
    link = seen.page.locator("svg.erd g.link path").first.bounding_box()
    assert link is not None and link["width"] > 10
    seen.page.close()


def test_hostile_names_from_the_warehouse_stay_text(browser: Any, demo_run: Any, tmp_path: Path) -> None:
    """A webinar topic and a host's name are typed by Zoom users: in the page they are text, and no
    script of theirs runs (no dialog, no script or img element)."""
    hostile = tmp_path / "hostile.duckdb"
    shutil.copyfile(demo_run.warehouse, hostile)
    with Warehouse.open(hostile, publish=True) as warehouse:
        warehouse.conn.execute("UPDATE zoom.webinar_instances SET topic = ?", [HOSTILE])
        warehouse.conn.execute("UPDATE zoom.users SET display_name = ?", [HOSTILE])
    report = tmp_path / "hostile.html"
    result = CliRunner().invoke(cli, ["report", "--html", str(report), "--warehouse", str(hostile)])
    assert result.exit_code == 0, result.output
    seen = visit(browser, report)
    assert_clean(seen, report)
    assert seen.page.locator("script, img").count() == 0
    # As the user typed it: in the hover titles whole, on the bars shortened.
    for section in ("#webinars", "#recordings"):
        assert HOSTILE in (seen.page.locator(section).text_content() or "")
        assert "</script><scrip" in seen.page.locator(section).inner_text()
    seen.page.close()
