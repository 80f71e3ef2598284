"""One writer: a second process opening the warehouse gets LockedError at once, naming the holder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from etl.errors import EXIT_LOCKED, LockedError
from etl.warehouse import Warehouse

HOLDER = """
import sys
from etl.warehouse import Warehouse
with Warehouse.open(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_second_writer_fails_at_once_naming_the_holder(warehouse_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(warehouse_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "locked"
            with pytest.raises(LockedError) as info:
                Warehouse.open(warehouse_path)
            assert f"pid {holder.pid}" in str(info.value)
            assert info.value.exit_code == EXIT_LOCKED == 75
        finally:
            holder.stdin.write("\n")
            holder.stdin.flush()
            holder.wait(timeout=30)
    with Warehouse.open(warehouse_path) as wh:  # released when the holder exits
        assert wh.conn.execute("SELECT 1").fetchone() == (1,)


def test_lock_is_released_by_a_killed_holder(warehouse_path: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(warehouse_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        holder.kill()
        holder.wait(timeout=30)
    with Warehouse.open(warehouse_path) as wh:
        assert wh.conn.execute("SELECT count(*) FROM _etl.runs").fetchone() == (0,)


def test_same_process_second_open_is_refused_too(warehouse_path: Path) -> None:
    with Warehouse.open(warehouse_path), pytest.raises(LockedError):
        Warehouse.open(warehouse_path)
