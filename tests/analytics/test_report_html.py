"""``zoom-etl report --html`` and ``docs --html`` as files: what the charts say, that every value from the
warehouse is escaped, that nothing points outside the page, and the commands' exit codes.
(The pages in a real browser: tests/visual/test_browser.py.)"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from warehouse_rows import Tables, at, make_warehouse

from etl.analytics import open_reader
from etl.cli import cli
from etl.cli.analyst import docs_command, report_command
from etl.contracts import load_contracts
from etl.recordings.tables import file_contracts
from etl.status import read_status
from etl.visual import report

app = type(cli)(name="zoom-etl", commands=[report_command, docs_command])

HOSTILE = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
NOW = datetime(2024, 3, 20, tzinfo=UTC)
TABLES: Tables = {
    "users": [
        {"id": "u1", "email": "a@x.com", "display_name": HOSTILE, "type": 2, "status": "active"},
        {"id": "u2", "email": "b@x.com", "display_name": "Bo", "type": 2, "status": "active"},
    ],
    "meeting_instances": [
        {"uuid": "m1", "host_id": "u1", "start_time": at(10, 9), "duration": 60},
        {"uuid": "m2", "host_id": "u1", "start_time": at(12, 9), "duration": 30},
        {"uuid": "m3", "host_id": "u1", "start_time": at(12, 11), "duration": 15},
    ],
    "webinar_instances": [
        {"uuid": "w1", "id": 5, "host_id": "u1", "topic": HOSTILE, "start_time": at(11, 9)}
    ],
    "webinar_participants": [
        {"webinar_uuid": "w1", "participant_key": "p1", "join_time": at(11, 9), "duration": 600},
    ],
    "recordings": [{"meeting_uuid": "m1", "host_id": "u1", "start_time": at(10, 9)}],
    "recording_files": [{"id": "f1", "meeting_uuid": "m1", "file_size": 2_500_000_000}],
    "_etl.runs": [
        {
            "run_id": "run-1",
            "started_at": at(13, 8),
            "ended_at": at(13, 8, 1),
            "status": "partial",
            "rows_by_table": '{"users": 2}',
            "requests_by_category": '{"medium": 3}',
            "message": HOSTILE,
            "data_as_of": at(13, 8),
        }
    ],
}


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return make_warehouse(tmp_path / "wh.duckdb", TABLES)


@pytest.fixture
def page(warehouse: Path) -> str:
    with open_reader(warehouse) as conn:
        data = report.collect(conn)
    return report.render(data, read_status(warehouse, now=NOW), generated_at=NOW)


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZOOM_ETL_WAREHOUSE", raising=False)
    monkeypatch.delenv("ZOOM_ETL_CONFIG", raising=False)
    return lambda *args: CliRunner().invoke(app, list(args))


def titles(page: str) -> list[str]:
    return re.findall(r"<title>([^<]*)</title>", page)


def test_the_charts_show_the_views_with_every_day_on_the_axis(page: str) -> None:
    assert "Mar 10: meetings 1" in titles(page)
    assert "Mar 11: meetings 0" in titles(page)  # no meeting that day: a zero bar, not a gap
    assert "Mar 12: meetings 2" in titles(page)
    assert "Mar 12: meeting minutes 45 min" in titles(page)
    assert "Licensed seats: users 2" in titles(page)
    assert "Idle 30 days: users 1" in titles(page)  # u2 never hosted
    assert "data as of 2024-03-13 08:00 UTC" in page
    assert page.count('<svg class="chart"') == 6


def test_every_value_from_the_warehouse_is_escaped(page: str) -> None:
    assert "<script" not in page and "<img" not in page
    assert not parse(page).tags & {"script", "img", "iframe", "object", "embed", "link"}
    escaped = "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
    assert escaped in page  # run message, webinar topic, host name (in hover titles, whole)
    assert page.count(escaped) >= 3


class Links(HTMLParser):
    """Every element's name and every src/href attribute of a page, as the browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.links.extend(value or "" for name, value in attrs if name in ("src", "href", "xlink:href"))


def parse(page: str) -> Links:
    parser = Links()
    parser.feed(page)
    return parser


def test_the_page_fetches_nothing(page: str) -> None:
    assert not re.search(r"https?://", page)
    links = parse(page).links
    assert links and all(link.startswith("#") for link in links)  # in-page anchors only
    assert "default-src 'none'" in page  # and the browser is told to refuse any load or script


def test_report_html_command(invoke: Callable[..., Result], warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = invoke("report", "--html", str(out), "--warehouse", str(warehouse))
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    both = invoke("report", "daily_meetings", "--html", str(out), "--warehouse", str(warehouse))
    assert both.exit_code == 2
    assert "--html writes the whole visual report" in both.output
    missing = invoke("report", "--html", str(out), "--warehouse", str(tmp_path / "none.duckdb"))
    assert missing.exit_code == 2 and "not found" in missing.output


def test_docs_html_lists_every_table_and_column(invoke: Callable[..., Result], tmp_path: Path) -> None:
    out = tmp_path / "docs.html"
    result = invoke("docs", "--html", str(out))
    assert result.exit_code == 0, result.output
    assert result.output == ""  # no Markdown on stdout unless --out is given too
    page = out.read_text(encoding="utf-8")
    contracts = {**load_contracts(), **file_contracts()}  # stream tables and those the downloads feed
    for contract in contracts.values():
        assert f'<section id="zoom-{contract.table}"' in page
        for column in contract.columns:
            assert f'<td class="code">{column.name}</td>' in page, (contract.table, column.name)
    assert "→ users.id" in page and "Referred to by" in page
    assert page.count('<g class="table"') == len(contracts)
    assert '<section id="analytics-daily_meetings"' in page
    assert not re.search(r"https?://", page)
    assert all(link.startswith("#") for link in parse(page).links)


def test_an_empty_warehouse_gives_a_page_that_says_no_data(tmp_path: Path) -> None:
    """Before the first sync has loaded anything: every chart says so instead of failing."""
    empty = make_warehouse(tmp_path / "empty.duckdb", {})
    out = tmp_path / "empty.html"
    report.write(empty, out, now=NOW)
    page = out.read_text(encoding="utf-8")
    assert page.count('<svg class="chart"') == 6
    assert page.count(">No data</text>") == 5  # the license chart shows its zeros
    assert "Licensed seats: users 0" in titles(page)
