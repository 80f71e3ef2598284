"""One writer: a second process opening the warehouse gets LockedError at once, naming the holder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from etl.errors import EXIT_LOCKED, LockedError
from etl.warehouse import Warehouse
from etl.warehouse.lock import WarehouseLock
from etl.warehouse.publish import read_path

HOLDER = """
import sys
from etl.warehouse import Warehouse
from etl.warehouse.lock import WarehouseLock
from etl.warehouse.publish import read_path
with Warehouse.open(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.readline()
"""


@contextmanager
def held(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the warehouse at ``path`` until the block ends (or the block kills it)."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "locked"
            yield holder
        finally:
            if holder.poll() is None:
                holder.stdin.write("\n")
                holder.stdin.flush()
            holder.wait(timeout=30)


def test_second_writer_fails_at_once_naming_the_holder(warehouse_path: Path) -> None:
    with held(warehouse_path) as holder:
        with pytest.raises(LockedError) as info:
            Warehouse.open(warehouse_path)
        assert f"pid {holder.pid}" in str(info.value)
        assert info.value.exit_code == EXIT_LOCKED == 75
    with Warehouse.open(warehouse_path) as wh:  # released when the holder exits
        assert wh.conn.execute("SELECT 1").fetchone() == (1,)


def test_lock_is_released_by_a_killed_holder(warehouse_path: Path) -> None:
    with held(warehouse_path) as holder:
        holder.kill()
        holder.wait(timeout=30)
    with Warehouse.open(warehouse_path) as wh:
        assert wh.conn.execute("SELECT count(*) FROM _etl.runs").fetchone() == (0,)


def test_same_process_second_open_is_refused_too(warehouse_path: Path) -> None:
    with Warehouse.open(warehouse_path), pytest.raises(LockedError):
        Warehouse.open(warehouse_path)


def test_a_second_writer_through_a_symlink_gets_the_lock_error(warehouse_path: Path) -> None:
    """The lock (and every file beside the warehouse) belongs to the real file, not the name it was
    opened by: a second writer through a symlink gets ``LockedError`` (exit 75), not DuckDB's own error."""
    with Warehouse.open(warehouse_path):
        pass  # the file exists
    link = warehouse_path.with_name("link.duckdb")
    link.symlink_to(warehouse_path)
    with held(warehouse_path) as holder:
        with pytest.raises(LockedError) as info:
            Warehouse.open(link)
        assert f"pid {holder.pid}" in str(info.value)
        assert "in use by another zoom-etl process" in str(info.value)
    # A writer between closing DuckDB and releasing the lock (publishing the read copy) holds only the lock.
    publishing = WarehouseLock(warehouse_path)
    publishing.acquire()
    try:
        with pytest.raises(LockedError):
            Warehouse.open(link)
    finally:
        publishing.release()
    with Warehouse.open(link, publish=True) as wh:
        assert wh.path == warehouse_path.resolve()
    # The read copy is the real file's: readers through either name see the same sync.
    assert read_path(link) == read_path(warehouse_path) == warehouse_path.with_name("zoom_read.duckdb")
    assert read_path(warehouse_path).exists() and not link.with_name("link_read.duckdb").exists()
    assert not link.with_name("link.duckdb.lock").exists()
