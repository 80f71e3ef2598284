"""dbt-duckdb over the read copy, as an analyst's dbt project would run beside the cron: the project in
``tests/dbt/project`` (the README's ``profiles.yml``) builds its models from ``zoom`` and ``analytics``
with no alias, while another process holds the read copy open, and never writes to it.

Runs only with ``--dbt PATH`` (``make test-dbt`` installs dbt-core and dbt-duckdb into their own venv
and passes its ``dbt``): dbt's dependencies stay out of the project's environment.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from etl.warehouse.publish import read_path

PROJECT = Path(__file__).resolve().parent / "project"

pytestmark = pytest.mark.dbt


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_dbt_builds_and_tests_models_from_the_read_copy(dbt: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "zoom_etl.duckdb"
    demo = [sys.executable, "-m", "etl", "demo", "--warehouse", str(warehouse), "--latency-ms", "0"]
    subprocess.run(demo, cwd=tmp_path, check=True, capture_output=True)
    copy = read_path(warehouse)
    before = digest(copy)
    project = shutil.copytree(PROJECT, tmp_path / "project")
    out = tmp_path / "dbt_out.duckdb"
    env = {
        **os.environ,
        "ZOOM_ETL_READ_COPY": str(copy),
        "DBT_OUT": str(out),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    hold = (
        "import duckdb, sys; c = duckdb.connect(sys.argv[1], read_only=True); print(1, flush=True); input()"
    )
    with subprocess.Popen(
        [sys.executable, "-c", hold, str(copy)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as analyst:  # a notebook holding the read copy open all along
        assert analyst.stdout is not None and analyst.stdout.readline().strip() == "1"
        for command in ("debug", "run", "test"):
            done = subprocess.run(
                [str(dbt), command, "--profiles-dir", "."],
                cwd=project,
                env=env,
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, (command, done.stdout[-3000:])
        assert analyst.stdin is not None
        analyst.stdin.write("\n")
    assert digest(copy) == before
    with (
        duckdb.connect(str(copy), read_only=True) as source,
        duckdb.connect(str(out), read_only=True) as built,
    ):
        instances = source.execute("SELECT count(*) FROM zoom.meeting_instances").fetchone()
        assert built.execute("SELECT count(*) FROM main.participants_per_instance").fetchone() == instances
        days = source.execute("SELECT count(DISTINCT day) FROM analytics.daily_meetings").fetchone()
        assert built.execute("SELECT count(*) FROM main.daily_meetings_summary").fetchone() == days
