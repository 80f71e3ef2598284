"""The README's promises, checked: every query of its SQL cookbook answers on the demo's warehouse, and
every command it documents exists."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import click
from click.testing import Result

from etl.cli import cli
from etl.simulator.clock import default_epoch
from etl.warehouse.reader import open_read_only

README = Path(__file__).resolve().parents[2] / "README.md"


def cookbook() -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(), flags=re.S)
    statements = [s.strip() for block in blocks for s in block.split(";")]
    return [s for s in statements if s and not all(line.startswith("--") for line in s.splitlines())]


def test_every_cookbook_query_answers_on_the_demo_at_todays_clock(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    """``make demo`` as a user runs it: the simulator's clock starts on the current UTC day (whatever the
    machine's date), and every query of the README's cookbook returns rows on the demo's warehouse."""
    warehouse = tmp_path / "demo.duckdb"
    before = default_epoch()
    assert run("demo", "--warehouse", str(warehouse), "--latency-ms", "0").exit_code == 0
    statements = cookbook()
    assert len(statements) >= 8
    with open_read_only(warehouse) as conn:
        data_as_of = conn.execute("SELECT analytics.reference_time()").fetchone()[0]  # type: ignore[index]
        empty = [sql for sql in statements if not conn.execute(sql).fetchall()]
    assert empty == []
    # The demo advances its clock one day; Zoom's clock is read to the second (the Date header) plus the
    # time since the token came.
    starts = {before, default_epoch()}  # two only if 15:00 UTC passed while the demo ran
    assert any(timedelta(0) <= data_as_of - (s + timedelta(days=1)) < timedelta(minutes=5) for s in starts)


def test_every_documented_command_exists() -> None:
    documented = set(re.findall(r"`zoom-etl ([a-z]+)", README.read_text()))
    assert {"demo", "sync", "status", "sql", "report", "export", "streams", "doctor", "rebuild"} <= documented
    assert documented <= set(cli.list_commands(click.Context(cli)))
