"""The read commands (``sql``, ``status``, ``report``) answer without importing the sync's libraries: each
costs 0.05-0.2 s at start-up, which is what made them slow (``python -m bench.startup`` times them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from etl import analytics
from etl.warehouse.connection import Warehouse

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("polars", "gql", "graphql", "httpx", "rich", "jsonschema", "etl.pipeline", "etl.simulator")

# Runs the command in a fresh interpreter, then lists which of HEAVY it imported.
SCRIPT = """
import sys
from etl.cli import cli
try:
    cli.main(sys.argv[1:], prog_name="zoom-etl")
except SystemExit as exc:
    assert not exc.code, exc.code
heavy = {heavy!r}
print(sorted(name for name in heavy if name in sys.modules))
"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("imports") / "w.duckdb"
    with Warehouse.open(path, publish=True) as wh:
        analytics.apply(wh.conn)
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("sql", "select 1"),
        ("status",),
        ("status", "--json"),
        ("report",),
        ("report", "user_engagement"),
    ],
    ids=lambda args: " ".join(args),
)
def test_read_commands_import_nothing_heavy(warehouse: Path, args: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(heavy=HEAVY), *args, "--warehouse", str(warehouse)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "[]", done.stdout.splitlines()[-1]
