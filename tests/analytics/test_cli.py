"""``zoom-etl sql``, ``report`` and ``docs`` through click's CliRunner: formats, files, exit codes."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import click
import orjson
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from warehouse_rows import Tables, at, make_warehouse

from etl.analytics import load_reports
from etl.cli import cli
from etl.cli.analyst import docs_command, report_command, sql_command
from etl.contracts import load_contracts

# The real group class: it turns deliberate errors into one line and their exit code.
app = type(cli)(name="zoom-etl", commands=[sql_command, report_command, docs_command])

TABLES: Tables = {
    "users": [{"id": "u1", "email": "a@x.com", "type": 2, "status": "active"}],
    "meeting_instances": [
        {"uuid": "m1", "host_id": "u1", "start_time": at(10, 9), "duration": 60},
        {"uuid": "m2", "host_id": "u1", "start_time": at(11, 9), "duration": 30},
    ],
}


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return make_warehouse(tmp_path / "wh.duckdb", TABLES)


@pytest.fixture
def invoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    monkeypatch.chdir(tmp_path)  # no stray zoom-etl.toml, and ./zoom.duckdb does not exist
    monkeypatch.delenv("ZOOM_ETL_WAREHOUSE", raising=False)
    monkeypatch.delenv("ZOOM_ETL_CONFIG", raising=False)

    def run(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> Result:
        return CliRunner().invoke(app, list(args), env=env, input=stdin)

    return run


QUERY = "SELECT uuid, duration FROM zoom.meeting_instances ORDER BY uuid"


def test_sql_table_csv_json(invoke: Callable[..., Result], warehouse: Path) -> None:
    table = invoke("sql", QUERY, "--warehouse", str(warehouse))
    assert table.exit_code == 0, table.output
    assert table.output.splitlines()[0].split() == ["uuid", "duration"]
    assert table.output.splitlines()[2].split() == ["m1", "60"]
    as_csv = invoke("sql", QUERY, "--warehouse", str(warehouse), "--format", "csv")
    assert list(csv.reader(io.StringIO(as_csv.output))) == [["uuid", "duration"], ["m1", "60"], ["m2", "30"]]
    as_json = invoke("sql", QUERY, "--warehouse", str(warehouse), "--format", "json")
    assert [orjson.loads(line) for line in as_json.output.splitlines()] == [
        {"uuid": "m1", "duration": 60},
        {"uuid": "m2", "duration": 30},
    ]


def test_sql_warehouse_from_the_environment_and_query_from_stdin(
    invoke: Callable[..., Result], warehouse: Path
) -> None:
    result = invoke("sql", "-", "--format", "csv", env={"ZOOM_ETL_WAREHOUSE": str(warehouse)}, stdin=QUERY)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["uuid,duration", "m1,60", "m2,30"]


def test_sql_to_files(invoke: Callable[..., Result], warehouse: Path, tmp_path: Path) -> None:
    parquet = tmp_path / "out.parquet"
    result = invoke("sql", QUERY, "--warehouse", str(warehouse), "--format", "parquet", "--out", str(parquet))
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert pq.read_table(parquet).to_pylist() == [
        {"uuid": "m1", "duration": 60},
        {"uuid": "m2", "duration": 30},
    ]
    text = tmp_path / "out.csv"
    invoke("sql", QUERY, "--warehouse", str(warehouse), "--format", "csv", "--out", str(text))
    assert text.read_text().splitlines() == ["uuid,duration", "m1,60", "m2,30"]


def test_sql_queries_the_analytics_views(invoke: Callable[..., Result], warehouse: Path) -> None:
    result = invoke(
        "sql",
        "SELECT day, meetings FROM analytics.daily_meetings",
        "--warehouse",
        str(warehouse),
        "--format",
        "json",
    )
    assert [orjson.loads(line) for line in result.output.splitlines()] == [
        {"day": "2024-03-10", "meetings": 1},
        {"day": "2024-03-11", "meetings": 1},
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELEC 1", "syntax error"),
        ("SELECT * FROM zoom.nope", "nope"),
        ("SELECT 'x'::INTEGER", "Conversion Error"),
    ],
)
def test_sql_errors_exit_2_with_one_line(
    invoke: Callable[..., Result], warehouse: Path, query: str, message: str
) -> None:
    result = invoke("sql", query, "--warehouse", str(warehouse))
    assert result.exit_code == 2
    assert result.output.startswith("zoom-etl: error: query failed:")
    assert message in result.output and result.output.count("\n") == 1


def count_users(invoke: Callable[..., Result], warehouse: Path) -> list[str]:
    result = invoke(
        "sql", "SELECT count(*) AS n FROM zoom.users", "--warehouse", str(warehouse), "--format", "csv"
    )
    return result.output.splitlines()


SECRET_FILE = "not-for-analysts.txt"

# What a probe tried through `zoom-etl sql`: writing the warehouse through a second attachment, reading and
# writing any file, changing settings, installing extensions (an INSTALL fetched over plain HTTP).
ESCAPES = {
    "attach writable": "USE memory; DETACH warehouse; ATTACH '{wh}' AS w2; DELETE FROM w2.zoom.users",
    "attach in one": "ATTACH '{wh}' AS w2",
    "delete": "DELETE FROM zoom.users",
    "copy to a file": "COPY (SELECT * FROM zoom.users) TO '{tmp}/leak.csv'",
    "read a file": "SELECT * FROM read_text('{tmp}/" + SECRET_FILE + "')",
    "csv of a file": "SELECT * FROM '{tmp}/" + SECRET_FILE + "'",
    "glob": "SELECT * FROM glob('{tmp}/*')",
    "set": "SET threads = 1",
    "reset a lock": "SET enable_external_access = true",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "export": "EXPORT DATABASE '{tmp}/dump'",
    "create": "CREATE TABLE memory.main.t AS SELECT 1",
    "after a select": "SELECT 1; COPY (SELECT 1) TO '{tmp}/leak.csv'",
}


@pytest.mark.parametrize("query", ESCAPES.values(), ids=ESCAPES.keys())
def test_sql_sees_the_warehouse_only(
    invoke: Callable[..., Result], warehouse: Path, tmp_path: Path, query: str
) -> None:
    (tmp_path / SECRET_FILE).write_text("root:x:0:0\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = invoke("sql", query.format(wh=warehouse, tmp=tmp_path), "--warehouse", str(warehouse))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("zoom-etl: error: query ") and result.output.count("\n") == 1
    assert "root:x" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written beside it
    assert count_users(invoke, warehouse) == ["n", "1"]


def test_sql_unrestricted_may_write_a_file_and_still_not_the_warehouse(
    invoke: Callable[..., Result], warehouse: Path, tmp_path: Path
) -> None:
    copy = f"COPY (SELECT id FROM zoom.users) TO '{tmp_path}/users.csv'"
    assert invoke("sql", "--unrestricted", copy, "--warehouse", str(warehouse)).exit_code == 0
    assert (tmp_path / "users.csv").read_text().splitlines() == ["id", "u1"]
    deleted = invoke("sql", "--unrestricted", "DELETE FROM zoom.users", "--warehouse", str(warehouse))
    assert deleted.exit_code == 2 and "read-only" in deleted.output
    assert count_users(invoke, warehouse) == ["n", "1"]


def test_sql_runs_every_kind_of_read(invoke: Callable[..., Result], warehouse: Path) -> None:
    reads = [
        "SHOW TABLES",
        "DESCRIBE zoom.users",
        "SUMMARIZE zoom.users",
        "EXPLAIN SELECT * FROM zoom.users",
        "PRAGMA table_info('zoom.users')",
        "CALL pragma_version()",
        "FROM zoom.users",
        "WITH u AS (SELECT * FROM zoom.users) SELECT count(*) FROM u",
        "PIVOT zoom.meeting_instances ON host_id USING sum(duration)",
        "SET VARIABLE d = 30; SELECT uuid FROM zoom.meeting_instances WHERE duration >= getvariable('d')",
    ]
    for query in reads:
        result = invoke("sql", query, "--warehouse", str(warehouse))
        assert result.exit_code == 0, (query, result.output)
        assert result.output.strip(), query


def test_missing_warehouse_exits_2(invoke: Callable[..., Result], tmp_path: Path) -> None:
    for args in (["sql", "SELECT 1"], ["report", "daily_meetings"]):
        result = invoke(*args, "--warehouse", str(tmp_path / "nope.duckdb"))
        assert result.exit_code == 2
        assert result.output.count("\n") == 1 and "nope.duckdb not found" in result.output
    default = invoke("sql", "SELECT 1")  # ./zoom_etl.duckdb does not exist in the temp working directory
    assert default.exit_code == 2 and "zoom_etl.duckdb not found" in default.output


def test_parquet_without_out_exits_2(invoke: Callable[..., Result], warehouse: Path) -> None:
    result = invoke("sql", QUERY, "--warehouse", str(warehouse), "--format", "parquet")
    assert result.exit_code == 2 and "--out" in result.output


def test_report_lists_reports_with_their_summaries(invoke: Callable[..., Result]) -> None:
    result = invoke("report", "--format", "json")
    assert result.exit_code == 0, result.output
    listed = [orjson.loads(line) for line in result.output.splitlines()]
    assert listed == [
        {"report": r.name, "as_of": r.macro is not None, "summary": r.summary} for r in load_reports()
    ]
    assert [r["report"] for r in listed if r["as_of"]] == ["license_utilization"]
    assert {r["report"] for r in listed} >= {
        "daily_meetings",
        "user_engagement",
        "license_utilization",
        "peak_concurrency",
        "webinar_attendance",
        "recording_storage",
        "sign_ins_daily",
    }


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_report_runs_a_view(invoke: Callable[..., Result], warehouse: Path, fmt: str) -> None:
    result = invoke("report", "user_engagement", "--warehouse", str(warehouse), "--format", fmt)
    assert result.exit_code == 0, result.output
    assert "u1" in result.output and "meetings_hosted" in result.output


def test_report_as_of_runs_the_reports_macro_at_that_instant(
    invoke: Callable[..., Result], warehouse: Path
) -> None:
    """u1 last hosted on 2024-03-11 09:00: idle for 30 days at April's end, not at March's."""

    def idle_30d(*as_of: str) -> list[bool]:
        args = ["report", "license_utilization", "--warehouse", str(warehouse), "--format", "json", *as_of]
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        return [orjson.loads(line)["idle_30d"] for line in result.output.splitlines()]

    assert idle_30d("--as-of", "2024-03-31") == [False]
    assert idle_30d("--as-of", "2024-04-30T12:00") == [True]
    assert idle_30d("--as-of", "2024-04-10T09:30:00+01:00") == [False]  # 08:30 UTC: 29 days and 23.5 hours


def test_report_as_of_on_a_report_without_a_reference_time_exits_2(
    invoke: Callable[..., Result], warehouse: Path
) -> None:
    result = invoke("report", "daily_meetings", "--warehouse", str(warehouse), "--as-of", "2024-03-31")
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "zoom-etl: error: report daily_meetings covers all history and takes no --as-of"
        " (reports that do: license_utilization)"
    ]


def test_report_to_parquet(invoke: Callable[..., Result], warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.parquet"
    result = invoke(
        "report", "daily_meetings", "--warehouse", str(warehouse), "--format", "parquet", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).column("meeting_minutes").to_pylist() == [60, 30]


def test_unknown_report_exits_2(invoke: Callable[..., Result], warehouse: Path) -> None:
    result = invoke("report", "nope", "--warehouse", str(warehouse))
    assert result.exit_code == 2 and "unknown report 'nope'" in result.output


def test_docs_lists_every_table_column_and_view(invoke: Callable[..., Result], tmp_path: Path) -> None:
    result = invoke("docs")  # no warehouse: the contracts alone
    assert result.exit_code == 0, result.output
    for contract in load_contracts().values():
        assert f"### `zoom.{contract.table}`" in result.output
        for column in contract.columns:
            assert f"| `{column.name}` | {column.type} |" in result.output
    for report in load_reports():
        assert f"### `analytics.{report.name}`" in result.output
    assert "| `duration` | INTEGER |  | yes | seconds |" in result.output  # participants: seconds
    out = tmp_path / "dictionary.md"
    assert invoke("docs", "--out", str(out)).exit_code == 0
    assert out.read_text() == result.output


def test_docs_lists_drift_columns_of_a_warehouse(invoke: Callable[..., Result], tmp_path: Path) -> None:
    path = make_warehouse(tmp_path / "wh.duckdb", {})
    from etl.warehouse.connection import Warehouse

    with Warehouse.open(path) as wh:
        wh.conn.execute(
            "INSERT INTO _etl.schema_changes"
            " VALUES ('users', 'new_field', 'evolve', 'VARCHAR', 'users', 'r', 1)"
        )
    result = invoke("docs", "--warehouse", str(path))
    assert "| `new_field` | VARCHAR |" in result.output and "added by schema drift" in result.output


def test_docs_with_a_missing_warehouse_given_exits_2(invoke: Callable[..., Result], tmp_path: Path) -> None:
    result = invoke("docs", "--warehouse", str(tmp_path / "nope.duckdb"))
    assert result.exit_code == 2 and "not found" in result.output


def test_commands_have_help() -> None:
    for command in (sql_command, report_command, docs_command):
        assert isinstance(command, click.Command)
        result = CliRunner().invoke(app, [command.name or "", "--help"])
        assert result.exit_code == 0 and "--warehouse" in result.output
