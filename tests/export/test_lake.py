"""Many accounts, one root: exports of separate warehouses (one account each, or two) share a Parquet or
Delta root, one after another, at the same time in separate processes, and through a killed export,
and every account's rows survive."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from export_rows import ODD_ACCOUNT, ROWS, change, make_warehouse

from etl.export import export
from etl.export.lake import MANIFEST, META
from etl.warehouse.reader import open_read_only

TABLES = ("meeting_instances", "meeting_participants", "daily_usage", "users", "users_history")


def account_warehouse(path: Path, account: str) -> Path:
    """The export fixture's rows, owned by ``account`` (and ``account + ' odd'`` for the second account)."""
    make_warehouse(path)
    change(
        path,
        *(
            f"UPDATE zoom.{t} SET account_id = '{account} odd' WHERE account_id = '{ODD_ACCOUNT}'"
            for t in ROWS
        ),
        *(f"UPDATE zoom.{t} SET account_id = '{account}' WHERE account_id = 'acc1'" for t in ROWS),
    )
    return path


def warehouse_rows(warehouses: list[Path], table: str) -> list[tuple[Any, ...]]:
    """The union of the warehouses' rows of ``table`` (JSON as text), sorted."""
    rows: list[tuple[Any, ...]] = []
    for warehouse in warehouses:
        conn = open_read_only(warehouse)
        try:
            columns = lake_columns(conn, table)
            rows += conn.execute(f"SELECT {columns} FROM zoom.{table}").fetchall()
        finally:
            conn.close()
    return sorted(rows, key=repr)


def lake_columns(conn: duckdb.DuckDBPyConnection, table: str) -> str:
    types = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        f" WHERE table_schema = 'zoom' AND table_name = '{table}' ORDER BY ordinal_position"
    ).fetchall()
    return ", ".join(f'"{c}"::VARCHAR AS "{c}"' if t == "JSON" else f'"{c}"' for c, t in types)


def lake_rows(fmt: str, out: Path, table: str, like: Path) -> list[tuple[Any, ...]]:
    """The table as a reader of the lake sees it: Parquet through DuckDB, Delta through deltalake."""
    conn = open_read_only(like)
    try:
        columns = lake_columns(conn, table)
    finally:
        conn.close()
    reader = duckdb.connect()
    try:
        reader.execute("SET TimeZone = 'UTC'")
        if fmt == "parquet":
            source = f"read_parquet('{out}/{table}/**/*.parquet', hive_partitioning = true)"
        else:
            arrow = pytest.importorskip("deltalake").DeltaTable(str(out / table)).to_pyarrow_table()
            reader.register("delta_table", arrow)
            source = "delta_table"
        return sorted(reader.execute(f"SELECT {columns} FROM {source}").fetchall(), key=repr)
    finally:
        reader.close()


def run(warehouse: Path, fmt: str, out: Path, **kwargs: Any) -> None:
    conn = open_read_only(warehouse)
    try:
        export(conn, fmt, out, **kwargs)
    finally:
        conn.close()


def command(warehouse: Path, fmt: str, out: Path, **env: str) -> subprocess.Popen[bytes]:
    """``zoom-etl export`` in a process of its own."""
    args = [sys.executable, "-m", "etl", "export", fmt, "--out", str(out), "--warehouse", str(warehouse)]
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM_ETL_")}
    return subprocess.Popen(args, env={**environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def assert_lake_holds(fmt: str, out: Path, warehouses: list[Path]) -> None:
    for table in TABLES:
        assert lake_rows(fmt, out, table, warehouses[0]) == warehouse_rows(warehouses, table), table


def by_account(rows: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    """Rows by account (the first column of every exported table)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        out.setdefault(row[0], []).append(row)
    return out


def data_files(out: Path, account: str) -> dict[str, tuple[int, int]]:
    """The Parquet files of ``account`` (its own folders, not its odd twin's): (inode, mtime)."""
    found = {}
    for path in out.rglob("*.parquet"):
        relative = path.relative_to(out)
        if relative.parts[0] != META and relative.parts[1] == f"account_id={account}":
            found[relative.as_posix()] = (path.stat().st_ino, path.stat().st_mtime_ns)
    return found


@pytest.fixture(params=["parquet", "delta"])
def fmt(request: pytest.FixtureRequest) -> str:
    if request.param == "delta":
        pytest.importorskip("deltalake")
    return str(request.param)


def test_accounts_exported_one_after_another_all_survive(fmt: str, tmp_path: Path) -> None:
    a = account_warehouse(tmp_path / "a.duckdb", "A")
    b = account_warehouse(tmp_path / "b.duckdb", "B")
    out = tmp_path / "lake"
    run(a, fmt, out)
    run(b, fmt, out)
    assert_lake_holds(fmt, out, [a, b])
    # A changes and exports again: B's partitions are not touched (not even rewritten), A's follow.
    before = data_files(out, "B")
    change(
        a,
        "DELETE FROM zoom.meeting_participants WHERE participant_key = 'p3'",
        "UPDATE zoom.users SET email = 'new@x.com' WHERE id = 'u1'",
        "DELETE FROM zoom.users_history",
    )
    run(a, fmt, out)
    assert_lake_holds(fmt, out, [a, b])
    if fmt == "parquet":
        assert before and data_files(out, "B") == before
        assert not any((out / "users_history").glob("account_id=A/*"))


def test_two_exports_at_once_lose_nothing(fmt: str, tmp_path: Path) -> None:
    warehouses = [account_warehouse(tmp_path / f"{n}.duckdb", n) for n in ("A", "B", "C")]
    out = tmp_path / "lake"
    for round_ in range(2):
        processes = [command(w, fmt, out) for w in warehouses]
        for process in processes:
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr.decode()
        assert_lake_holds(fmt, out, warehouses)
        for n, w in zip("ABC", warehouses, strict=True):  # the second round exports changes
            change(w, f"UPDATE zoom.meeting_participants SET name = 'round {round_} {n}'")
    if fmt == "parquet":
        assert [p.name for p in (out / META / "staging").iterdir()] == []


def test_a_killed_parquet_export_leaves_every_account_whole(tmp_path: Path) -> None:
    a = account_warehouse(tmp_path / "a.duckdb", "A")
    b = account_warehouse(tmp_path / "b.duckdb", "B")
    out = tmp_path / "lake"
    run(a, "parquet", out)
    run(b, "parquet", out)
    old_a = account_warehouse(tmp_path / "a-before.duckdb", "A")
    change(
        a,
        "UPDATE zoom.meeting_participants SET name = 'renamed'",
        "DELETE FROM zoom.users WHERE id = 'u2'",
        "DELETE FROM zoom.users_history",
    )
    # Killed before any swap: the lake is as it was, for both accounts.
    killed = command(a, "parquet", out, ZOOM_ETL_CRASH_AT="export.before_swap")
    killed.communicate(timeout=120)
    assert killed.returncode == -9
    assert_lake_holds("parquet", out, [old_a, b])
    # Killed half-way through A's swaps: each of A's tables is whole, old or new; B is untouched.
    before_b = data_files(out, "B")
    killed = command(a, "parquet", out, ZOOM_ETL_CRASH_AT="export.mid_swap:2")
    killed.communicate(timeout=120)
    assert killed.returncode == -9
    assert (out / META / "journal" / "A.json").exists()
    for table in TABLES:  # the swap is atomic per account ("A", "A odd") and table
        seen = by_account(lake_rows("parquet", out, table, a))
        old, new = by_account(warehouse_rows([old_a, b], table)), by_account(warehouse_rows([a, b], table))
        for account in old.keys() | new.keys():
            assert seen.get(account) in (old.get(account), new.get(account)), (table, account)
    assert data_files(out, "B") == before_b
    # The next export of A finishes the decided swap and cleans up after the killed ones.
    run(a, "parquet", out)
    assert_lake_holds("parquet", out, [a, b])
    assert data_files(out, "B") == before_b
    assert not (out / META / "journal" / "A.json").exists()
    assert [p.name for p in (out / META / "staging").iterdir()] == []


def test_a_killed_delta_export_leaves_every_account_whole(tmp_path: Path) -> None:
    pytest.importorskip("deltalake")
    a = account_warehouse(tmp_path / "a.duckdb", "A")
    b = account_warehouse(tmp_path / "b.duckdb", "B")
    out = tmp_path / "lake"
    run(a, "delta", out)
    run(b, "delta", out)
    old_a = account_warehouse(tmp_path / "a-before.duckdb", "A")
    change(
        a, "UPDATE zoom.meeting_participants SET name = 'renamed'", "DELETE FROM zoom.users WHERE id = 'u2'"
    )
    # Killed after a table's commit, before its manifest: every table is one version or the other.
    killed = command(a, "delta", out, ZOOM_ETL_CRASH_AT="export.after_table:3")
    killed.communicate(timeout=120)
    assert killed.returncode == -9
    for table in TABLES:
        seen = lake_rows("delta", out, table, a)
        assert seen in (warehouse_rows([old_a, b], table), warehouse_rows([a, b], table)), table
    run(a, "delta", out)
    assert_lake_holds("delta", out, [a, b])


def test_delta_vacuum_removes_replaced_files_after_the_retention(tmp_path: Path) -> None:
    pytest.importorskip("deltalake")
    a = account_warehouse(tmp_path / "a.duckdb", "A")
    b = account_warehouse(tmp_path / "b.duckdb", "B")
    out = tmp_path / "lake"
    run(a, "delta", out)
    run(b, "delta", out)
    change(a, "UPDATE zoom.users SET email = 'new@x.com'")

    def plain_parquet_users() -> int:
        return int(
            duckdb.sql(f"SELECT count(*) FROM read_parquet('{out}/users/**/*.parquet')").fetchall()[0][0]
        )

    run(a, "delta", out)  # default retention (7 days): the replaced files stay, a plain reader double-counts
    live = len(warehouse_rows([a, b], "users"))
    assert plain_parquet_users() > live
    run(a, "delta", out, vacuum_hours=0)
    assert plain_parquet_users() == live
    assert_lake_holds("delta", out, [a, b])


def test_partition_columns_are_typed_by_the_documented_read_options(tmp_path: Path) -> None:
    a = account_warehouse(tmp_path / "a.duckdb", "A")
    out = tmp_path / "lake"
    run(a, "parquet", out)
    # pyarrow: the partitioning declared with its schema, as the README shows.
    partitioning = ds.partitioning(
        pa.schema([("account_id", pa.string()), ("date", pa.date32())]), flavor="hive"
    )
    table = ds.dataset(out / "meeting_participants", partitioning=partitioning).to_table()
    assert table.schema.field("date").type == pa.date32()
    assert table.schema.field("join_time").type == pa.timestamp("us", tz="UTC")
    assert sorted(set(table["account_id"].to_pylist())) == ["A", "A odd"]
    # DuckDB: hive_types.
    types = duckdb.sql(
        f"DESCRIBE SELECT * FROM read_parquet('{out}/meeting_participants/**/*.parquet', "
        "hive_partitioning = true, hive_types = {'account_id': VARCHAR, 'date': DATE})"
    ).fetchall()
    assert {r[0]: r[1] for r in types}["date"] == "DATE"


def test_a_root_written_before_per_account_manifests_is_taken_over(tmp_path: Path) -> None:
    """A root of the earlier layout (one manifest for the folder, every account's partitions in it):
    each account's next export reads its own partitions from it and replaces only those."""
    a = account_warehouse(tmp_path / "a.duckdb", "A")
    b = account_warehouse(tmp_path / "b.duckdb", "B")
    out = tmp_path / "lake"
    run(a, "parquet", out)
    run(b, "parquet", out)
    tables: dict[str, Any] = {}
    for path in sorted((out / META / "accounts").glob("*.json")):
        for table, entry in orjson.loads(path.read_bytes())["tables"].items():
            tables.setdefault(table, {**entry, "partitions": []})["partitions"] += entry["partitions"]
    legacy = {"format": "parquet", "duckdb": duckdb.__version__, "tables": tables}
    shutil.rmtree(out / META)
    (out / MANIFEST).write_bytes(orjson.dumps(legacy))
    before = data_files(out, "B")
    change(a, "DELETE FROM zoom.meeting_participants WHERE participant_key = 'p3'")
    run(a, "parquet", out)
    assert_lake_holds("parquet", out, [a, b])
    assert data_files(out, "B") == before
    run(b, "parquet", out)
    assert data_files(out, "B") == before  # B's partitions came from the old manifest: nothing rewritten
