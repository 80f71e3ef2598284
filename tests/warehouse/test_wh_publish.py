"""The read copy: named so that no client needs an alias, replaced whole, published only by a writer that
asked for it and ended without an exception."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from etl.errors import LockedError
from etl.warehouse import Warehouse
from etl.warehouse.publish import publish, read_path, reading_path
from etl.warehouse.reader import open_published
from etl.warehouse.running import RunProgress, read_progress


def write(path: Path, value: int) -> None:
    with Warehouse.open(path, publish=True) as wh, wh.transaction() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS zoom.probe (v INTEGER)")
        conn.execute("DELETE FROM zoom.probe")
        conn.execute("INSERT INTO zoom.probe VALUES (?)", [value])


def probe(conn: duckdb.DuckDBPyConnection) -> int:
    return int(conn.execute("SELECT v FROM zoom.probe").fetchone()[0])  # type: ignore[index]


@pytest.mark.parametrize(
    ("name", "copy", "catalog"),
    [
        ("zoom_etl.duckdb", "zoom_etl_read.duckdb", "zoom_etl_read"),
        ("zoom.duckdb", "zoom_read.duckdb", "zoom_read"),  # even a warehouse named zoom: no clash
        ("wh.prod.duckdb", "wh.prod_read.duckdb", "wh"),
    ],
)
def test_the_read_copy_opens_under_a_catalog_that_is_not_zoom(
    tmp_path: Path, name: str, copy: str, catalog: str
) -> None:
    warehouse = tmp_path / name
    write(warehouse, 1)
    assert read_path(warehouse) == tmp_path / copy
    with duckdb.connect(str(tmp_path / copy), read_only=True) as conn:  # as the DuckDB CLI opens it
        assert conn.execute("SELECT current_database()").fetchone() == (catalog,)
        assert probe(conn) == 1  # zoom.<table> resolves without ATTACH ... AS


def test_an_open_reader_keeps_its_version_and_a_new_one_gets_the_next(tmp_path: Path) -> None:
    warehouse = tmp_path / "zoom_etl.duckdb"
    write(warehouse, 1)
    with duckdb.connect(str(read_path(warehouse)), read_only=True) as old:
        write(warehouse, 2)  # published while the reader is open: neither blocks the other
        assert probe(old) == 1
        with open_published(warehouse) as new:
            assert probe(new) == 2


def test_a_writer_that_fails_or_was_not_asked_publishes_nothing(tmp_path: Path) -> None:
    warehouse = tmp_path / "zoom_etl.duckdb"
    write(warehouse, 1)
    with pytest.raises(RuntimeError), Warehouse.open(warehouse, publish=True) as wh:
        wh.conn.execute("UPDATE zoom.probe SET v = 2")
        raise RuntimeError("the sync died")
    with Warehouse.open(warehouse) as wh:  # publish=False: a maintenance writer
        wh.conn.execute("UPDATE zoom.probe SET v = 3")
    with open_published(warehouse) as conn:
        assert probe(conn) == 1
    with Warehouse.open(warehouse, publish=True):
        pass
    with open_published(warehouse) as conn:
        assert probe(conn) == 3


def test_a_killed_publishs_leftover_is_removed_and_the_copy_is_whole(tmp_path: Path) -> None:
    warehouse = tmp_path / "zoom_etl.duckdb"
    write(warehouse, 1)
    leftover = read_path(warehouse).with_name(read_path(warehouse).name + ".tmp-4242")
    leftover.write_bytes(b"half a file")
    with Warehouse.open(warehouse) as wh:
        assert wh.path is not None
    published = publish(warehouse)
    assert not leftover.exists()
    assert published.bytes == warehouse.stat().st_size == read_path(warehouse).stat().st_size
    assert read_path(warehouse).read_bytes() == warehouse.read_bytes()
    assert not warehouse.with_name(warehouse.name + ".wal").exists()  # checkpointed before the copy


def test_readers_fall_back_to_the_warehouse_until_something_was_published(tmp_path: Path) -> None:
    warehouse = tmp_path / "zoom_etl.duckdb"
    with Warehouse.open(warehouse):  # not published
        pass
    assert reading_path(warehouse) == warehouse
    write(warehouse, 5)
    assert reading_path(warehouse) == read_path(warehouse)


def test_progress_is_believed_only_while_the_writer_holds_the_lock(tmp_path: Path) -> None:
    warehouse = tmp_path / "zoom_etl.duckdb"
    with Warehouse.open(warehouse):
        progress = RunProgress(warehouse, "run-1", ("users",), datetime(2026, 1, 1, tzinfo=UTC))
        progress.update("acct", {"users": 7}, {"medium": 3}, {"users": "graphql"})
        seen = read_progress(warehouse)
        assert seen is not None and seen["rows_by_table"] == {"users": 7} and seen["run_id"] == "run-1"
    assert read_progress(warehouse) is None  # left behind (as by a killed sync), but nobody holds the lock


def test_a_duckdb_session_on_the_warehouse_is_a_lock_error_naming_the_read_copy(tmp_path: Path) -> None:
    warehouse = tmp_path / "zoom_etl.duckdb"
    write(warehouse, 1)
    code = (
        f"import duckdb, time; c = duckdb.connect({str(warehouse)!r}, read_only=True); print(1, flush=True)"
    )
    code += "; input()"
    command = [sys.executable, "-c", code]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "1"
            with pytest.raises(LockedError, match=rf"pid {holder.pid}.*zoom_etl_read\.duckdb"):
                Warehouse.open(warehouse, wait=0.6)
        finally:
            holder.kill()
    with Warehouse.open(warehouse, wait=5):
        pass


def test_a_publish_that_fails_keeps_the_commit_and_the_old_copy_and_says_why(tmp_path: Path) -> None:
    warehouse = tmp_path / "zoom_etl.duckdb"
    write(warehouse, 1)
    old = read_path(warehouse).read_bytes()
    blocker = read_path(warehouse).with_name(read_path(warehouse).name + ".tmp-" + str(os.getpid()))
    blocker.mkdir()  # where the copy would be written: the publish fails as on a full or broken disk
    wh = Warehouse.open(warehouse, publish=True)
    wh.conn.execute("UPDATE zoom.probe SET v = 2")
    wh.close()
    assert wh.published is None and "the read copy was not published" in wh.publish_error
    assert read_path(warehouse).read_bytes() == old  # readers keep the last good copy
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert probe(conn) == 2  # the commit is kept
    with Warehouse.open(warehouse):  # the lock was released
        pass
