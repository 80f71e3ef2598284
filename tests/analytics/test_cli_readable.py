"""``zoom-etl report`` for a person: within the terminal's width, codes by name, times in ``--tz``."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner, Result
from warehouse_rows import Tables, at, make_warehouse

from etl.cli import cli
from etl.cli.analyst import report_command

app = type(cli)(name="zoom-etl", commands=[report_command])
ACCOUNT = "account-with-a-22-char"

TABLES: Tables = {
    "users": [
        {"account_id": ACCOUNT, "id": "user-basic-0000000001", "email": "a.long.address.basic@example.com",
         "display_name": "Basic Person", "type": 1, "status": "active"},
        {"account_id": ACCOUNT, "id": "user-licensed-00000002", "email": "licensed.person@example.com",
         "display_name": "Licensed Person", "type": 2, "status": "active"},
        {"account_id": ACCOUNT, "id": "user-unassigned-000003", "email": "no.license@example.com",
         "display_name": "No License", "type": 4, "status": "inactive"},
    ],
    "meeting_instances": [
        {"account_id": ACCOUNT, "uuid": "m1", "host_id": "user-licensed-00000002",
         "start_time": at(10, 9), "duration": 60},
    ],
}  # fmt: skip


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return make_warehouse(tmp_path / "wh.duckdb", TABLES)


@pytest.fixture
def report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warehouse: Path) -> Callable[..., Result]:
    monkeypatch.chdir(tmp_path)

    def run(*args: str, columns: int = 100) -> Result:
        env = {"COLUMNS": str(columns), "ZOOM_ETL_WAREHOUSE": str(warehouse), "ZOOM_ETL_CONFIG": None}
        return CliRunner().invoke(app, ["report", "user_engagement", *args], env=env)  # type: ignore[arg-type]

    return run


@pytest.mark.parametrize("columns", [100, 80])
def test_user_engagement_fits_the_terminal_with_headers_and_names(
    report: Callable[..., Result], columns: int
) -> None:
    result = report(columns=columns)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= columns, "\n".join(lines)
    words = result.stdout.split()
    for header in ("user_id", "email", "user_type", "meetings_hosted", "attended_minutes", "last_active_at"):
        assert header in words
    assert f"account_id: {ACCOUNT}" in lines  # one account: a caption, not a column
    for name in ("Basic", "Licensed", "No Meeting License"):
        assert name in result.stdout
    # Every user is named in each block of columns (the first column repeats).
    blocks = result.stdout.count("user_id ")
    assert blocks >= 2 and result.stdout.count("user-licensed-00000002") == blocks
    assert "2024-03-10 09:00" in result.stdout and lines[-1] == "(times in UTC)"


def test_times_in_the_users_time_zone(report: Callable[..., Result]) -> None:
    result = report("--tz", "Asia/Tokyo")
    assert result.exit_code == 0, result.output
    assert "2024-03-10 18:00" in result.stdout and "2024-03-10 09:00" not in result.stdout
    assert result.stdout.splitlines()[-1] == "(times in Asia/Tokyo)"
    as_json = report("--tz", "Asia/Tokyo", "--format", "json")
    licensed = next(
        row
        for row in map(orjson.loads, as_json.stdout.splitlines())
        if row["user_id"] == "user-licensed-00000002"
    )
    assert licensed["last_hosted_at"] == "2024-03-10T18:00:00+09:00"
    assert licensed["user_type"] == 2  # programs get the codes


def test_csv_keeps_codes_and_a_bad_zone_is_one_line(report: Callable[..., Result]) -> None:
    rows = list(csv.DictReader(io.StringIO(report("--format", "csv").stdout)))
    assert sorted(r["user_type"] for r in rows) == ["1", "2", "4"]
    bad = report("--tz", "Mars/Olympus")
    assert bad.exit_code == 2 and bad.output.count("\n") == 1 and "Mars/Olympus" in bad.output
