"""The README's promises, checked: its SQL cookbook runs on a synced warehouse and answers something, and
every command it documents exists."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

from etl.cli import cli
from etl.simulator.server import RunningSimulator
from etl.warehouse.reader import open_read_only

README = Path(__file__).resolve().parents[2] / "README.md"


def cookbook() -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(), flags=re.S)
    statements = [s.strip() for block in blocks for s in block.split(";")]
    return [s for s in statements if s and not all(line.startswith("--") for line in s.splitlines())]


def test_the_cookbook_runs_on_a_synced_warehouse(
    simulator: RunningSimulator,
    sim_env: Callable[[RunningSimulator], dict[str, str]],
    run: Callable[..., Result],
) -> None:
    env = sim_env(simulator)
    assert run("sync", env=env).exit_code == 0
    statements = cookbook()
    assert len(statements) >= 5
    answered = 0
    with open_read_only(Path(env["ZOOM_ETL_WAREHOUSE"])) as conn:
        for sql in statements:
            rows = conn.execute(sql).fetchall()
            answered += bool(rows)
    assert answered >= 5


def test_every_documented_command_exists() -> None:
    documented = set(re.findall(r"`zoom-etl ([a-z]+)", README.read_text()))
    assert {"demo", "sync", "status", "sql", "report", "export", "streams", "doctor", "rebuild"} <= documented
    assert documented <= set(cli.commands)
