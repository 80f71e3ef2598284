"""Spark reads a Parquet root that several simulator accounts were synced and exported into: its counts
per account and table equal the warehouses', and the types survive (timestamps as UTC instants, 64-bit
meeting ids, ``date`` partitions as dates). Runs with ``make test-spark`` only (``--spark-python``: a
Python with pyspark; Java from the system). Delta through Spark needs the delta-spark jars from Maven,
which this test does not fetch: the Delta root is read by deltalake in tests/export/test_lake.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from etl.export.tables import partition_date_column
from etl.simulator.server import RunningSimulator
from etl.warehouse.reader import open_read_only

pytestmark = pytest.mark.spark

ACCOUNTS = ("spark-acct-one", "spark-acct-two", "spark-acct-three")
TIMESTAMPED = ("meeting_instances", "meeting_participants", "sign_in_activity", "webinar_participants")


def zoom_etl(*args: str, env: dict[str, str] | None = None) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ZOOM_", "ZOOM_ETL_"))}
    done = subprocess.run(
        [sys.executable, "-m", "etl", *args], env={**environ, **(env or {})}, capture_output=True, timeout=600
    )
    assert done.returncode == 0, done.stderr.decode()


def warehouse_facts(warehouse: Path) -> dict[str, dict[str, Any]]:
    """What Spark must see of this warehouse's account: rows per table, timestamp range, largest id."""
    conn = open_read_only(warehouse)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'zoom'"
                " AND table_type = 'BASE TABLE' AND NOT starts_with(table_name, '_')"
            ).fetchall()
        ]
        facts: dict[str, dict[str, Any]] = {}
        for table in tables:
            count = conn.execute(f"SELECT count(*) FROM zoom.{table}").fetchall()[0][0]
            if not count:
                continue
            entry: dict[str, Any] = {"count": count}
            column = partition_date_column(table)
            if table in TIMESTAMPED and column:
                entry["instants"] = list(
                    conn.execute(
                        f"SELECT epoch_us(min({column})), epoch_us(max({column})) FROM zoom.{table}"
                    ).fetchall()[0]
                )
            facts[table] = entry
        facts["meeting_instances"]["max_id"] = conn.execute(
            "SELECT max(id) FROM zoom.meeting_instances"
        ).fetchall()[0][0]
    finally:
        conn.close()
    return facts


def test_spark_reads_the_accounts_of_one_parquet_root(
    simulator_factory: Callable[..., RunningSimulator], tmp_path: Path, spark_python: str
) -> None:
    out = tmp_path / "lake"
    expected: dict[str, dict[str, dict[str, Any]]] = {}
    for seed, account in enumerate(ACCOUNTS, start=1):
        sim = simulator_factory(seed=seed, account_id=account)
        warehouse = tmp_path / f"{account}.duckdb"
        zoom_etl("sync", env=sim.environ(warehouse))
        zoom_etl("export", "parquet", "--out", str(out), "--warehouse", str(warehouse))
        expected[account] = warehouse_facts(warehouse)
    tables = sorted({t for facts in expected.values() for t in facts})
    specs = [f"{t}:{partition_date_column(t)}" if t in TIMESTAMPED else t for t in tables]
    script = Path(__file__).with_name("spark_read.py")
    done = subprocess.run(
        [spark_python, str(script), str(out), *specs], capture_output=True, timeout=900, env=dict(os.environ)
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    seen = orjson.loads(done.stdout.splitlines()[-1])

    for table in tables:
        counts = {a: facts[table]["count"] for a, facts in expected.items() if table in facts}
        assert seen[table]["counts"] == counts, table
        types = seen[table]["types"]
        assert types["account_id"] == "string", table
        if partition_date_column(table):
            assert types["date"] == "date", table
        for account, facts in expected.items():
            if "instants" in facts.get(table, {}):
                assert seen[table]["instants"][account] == facts[table]["instants"], (table, account)
    instances = seen["meeting_instances"]
    assert instances["types"]["id"] == "bigint" and instances["types"]["start_time"] == "timestamp"
    assert instances["max_id"] == max(f["meeting_instances"]["max_id"] for f in expected.values())
    assert instances["max_id"] > 2**31  # a 64-bit id, not one that fits in 32
