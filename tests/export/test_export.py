"""Parquet and Delta exports: read back with DuckDB, Polars and deltalake; atomicity; incremental rewrites."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import duckdb
import orjson
import polars as pl
import pytest
from export_rows import ROWS, change, make_warehouse

from etl.contracts import load_contracts
from etl.errors import ConfigError
from etl.export import MANIFEST, ExportResult, TableResult, export
from etl.export.lake import META
from etl.warehouse.reader import open_read_only

FACTS_WITH_ROWS = ("meeting_instances", "meeting_participants", "daily_usage")
DIMENSIONS_WITH_ROWS = ("users", "users_history")


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return make_warehouse(tmp_path / "wh.duckdb")


def run(warehouse: Path, fmt: str, out: Path, **kwargs: Any) -> ExportResult:
    conn = open_read_only(warehouse)
    try:
        return export(conn, fmt, out, **kwargs)
    finally:
        conn.close()


def by_table(result: ExportResult) -> dict[str, TableResult]:
    return {t.table: t for t in result.tables}


def warehouse_rows(warehouse: Path, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The table's rows as the export should hold them (JSON as text), in a stable order."""
    conn = open_read_only(warehouse)
    try:
        types = dict(
            conn.execute(
                f"SELECT column_name, data_type FROM information_schema.columns "
                f"WHERE table_schema = 'zoom' AND table_name = '{table}'"
            ).fetchall()
        )
        items = [f'"{c}"::VARCHAR AS "{c}"' if t == "JSON" else f'"{c}"' for c, t in types.items()]
        rows = conn.execute(f"SELECT {', '.join(items)} FROM zoom.{table}").fetchall()
    finally:
        conn.close()
    return list(types), sorted(rows, key=repr)


def files(directory: Path) -> dict[str, tuple[int, int]]:
    """Every data file under ``directory`` (not the export's bookkeeping in ``_zoom_etl*``):
    (inode, mtime_ns), to see what was rewritten."""
    out = {}
    for path in directory.rglob("*"):
        if path.is_file() and not path.relative_to(directory).parts[0].startswith("_zoom_etl"):
            stat = path.stat()
            out[path.relative_to(directory).as_posix()] = (stat.st_ino, stat.st_mtime_ns)
    return out


def manifests(out: Path) -> dict[str, Any]:
    """Each account's manifest, by account file name."""
    return {p.stem: orjson.loads(p.read_bytes()) for p in (out / META / "accounts").glob("*.json")}


def read_duckdb(out: Path, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    conn = duckdb.connect()
    try:
        conn.execute("SET TimeZone = 'UTC'")
        quoted = ", ".join(f'"{c}"' for c in columns)
        types = (
            "{'account_id': VARCHAR, 'date': DATE}" if table in FACTS_WITH_ROWS else "{'account_id': VARCHAR}"
        )
        rows = conn.execute(
            f"SELECT {quoted} FROM read_parquet('{out}/{table}/**/*.parquet', hive_partitioning = true, "
            f"hive_types = {types})"
        ).fetchall()
    finally:
        conn.close()
    return sorted(rows, key=repr)


def read_polars(out: Path, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    frame = pl.read_parquet(f"{out}/{table}/**/*.parquet", hive_partitioning=True)
    return sorted(frame.select(columns).rows(), key=repr)


def test_parquet_round_trip_with_duckdb_and_polars(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = run(warehouse, "parquet", out)
    counts = {t.table: t.rows for t in result.tables}
    for table in FACTS_WITH_ROWS + DIMENSIONS_WITH_ROWS:
        columns, expected = warehouse_rows(warehouse, table)
        assert len(expected) == len(ROWS[table]) == counts[table]
        assert read_duckdb(out, table, columns) == expected, table
        assert read_polars(out, table, columns) == expected, table


def test_parquet_layout_is_hive_partitioned(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    run(warehouse, "parquet", out)
    parts = {str(Path(f).parent) for f in files(out / "meeting_participants")}
    assert parts == {
        "account_id=acc1/date=2024-03-10",
        "account_id=acc1/date=2024-03-11",
        "account_id=acc1/date=2024-03-12",
        "account_id=acc%202%2Fx%3Dy/date=2024-03-10",
    }
    assert "account_id=acc1/date=__HIVE_DEFAULT_PARTITION__" in {
        str(Path(f).parent) for f in files(out / "meeting_instances")
    }
    assert {str(Path(f).parent) for f in files(out / "users")} == {
        "account_id=acc1",
        "account_id=acc%202%2Fx%3Dy",
    }
    # daily_usage is partitioned by its own date column; the others carry a derived `date`.
    assert (
        "date" in pl.read_parquet(f"{out}/meeting_participants/**/*.parquet", hive_partitioning=True).columns
    )
    # Only schema zoom: no raw payloads, no bookkeeping.
    conn = open_read_only(warehouse)
    tables = {
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'zoom' AND table_type = 'BASE TABLE'"
        ).fetchall()
    }
    conn.close()
    # A folder per table with rows (a table empty for every account has none); every table in the manifests.
    assert {p.name for p in out.iterdir() if p.is_dir()} == {*FACTS_WITH_ROWS, *DIMENSIONS_WITH_ROWS, META}
    assert orjson.loads((out / MANIFEST).read_bytes()) == {"format": "parquet", "layout": 2}
    assert set(manifests(out)) == {"acc1", "acc%202%2Fx%3Dy"}
    assert all(set(m["tables"]) == tables for m in manifests(out).values())


def test_json_columns_are_exported_as_text(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    run(warehouse, "parquet", out)
    frame = pl.read_parquet(f"{out}/users/**/*.parquet", hive_partitioning=True)
    assert frame.schema["group_ids"] == pl.String
    assert orjson.loads(frame.filter(pl.col("id") == "u1")["group_ids"][0]) == ["g1", "g2"]


CHANGES = (
    "UPDATE zoom.meeting_participants SET name = 'renamed'"
    " WHERE participant_key = 'p1' AND meeting_uuid = 'm1'",
    "INSERT INTO zoom.meeting_participants (account_id, meeting_uuid, participant_key, join_time, _run_id,"
    " _synced_at) VALUES ('acc1', 'm9', 'p9', TIMESTAMPTZ '2024-03-20 10:00Z', 'run-2', now())",
    "DELETE FROM zoom.meeting_participants WHERE meeting_uuid = 'm2' AND participant_key = 'p3'",
)


def test_second_parquet_export_rewrites_only_changed_partitions(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    run(warehouse, "parquet", out)
    before = files(out)
    change(warehouse, *CHANGES)
    result = by_table(run(warehouse, "parquet", out))

    # 03-10 changed, 03-20 is new, 03-12 lost its only row; 03-11 and the odd account's 03-10 are unchanged.
    assert (
        result["meeting_participants"].written,
        result["meeting_participants"].kept,
        result["meeting_participants"].removed,
    ) == (2, 2, 1)
    assert all(t.written == 0 for name, t in result.items() if name != "meeting_participants")
    after = files(out)

    def untouched(name: str) -> bool:
        if not name.startswith("meeting_participants/"):
            return name != MANIFEST
        return "date=2024-03-11" in name or "acc%202" in name

    unchanged = [f for f in before if untouched(f)]
    assert unchanged and all(after[f] == before[f] for f in unchanged)
    changed = next(f for f in after if f.startswith("meeting_participants/account_id=acc1/date=2024-03-10/"))
    assert after[changed] != before.get(changed)
    assert not any("date=2024-03-12" in f for f in after if f.startswith("meeting_participants/"))
    columns, expected = warehouse_rows(warehouse, "meeting_participants")
    assert read_duckdb(out, "meeting_participants", columns) == expected


def test_export_without_changes_rewrites_nothing(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    run(warehouse, "parquet", out)
    before = files(out)
    result = run(warehouse, "parquet", out)
    assert all(t.written == 0 and t.removed == 0 for t in result.tables)
    after = files(out)
    assert {f: v for f, v in after.items() if f != MANIFEST} == {
        f: v for f, v in before.items() if f != MANIFEST
    }


def test_failed_export_leaves_the_previous_one_intact(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    run(warehouse, "parquet", out)
    before = files(out)
    manifest = manifests(out)
    change(warehouse, *CHANGES, "UPDATE zoom.users SET email = 'new@x.com'")
    seen: list[str] = []

    def fail_after_two_tables(result: TableResult) -> None:
        seen.append(result.table)
        if len(seen) == 2:
            raise RuntimeError("disk full (simulated)")

    with pytest.raises(RuntimeError, match="disk full"):
        run(warehouse, "parquet", out, on_table=fail_after_two_tables)
    assert files(out) == before
    assert manifests(out) == manifest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "wh.duckdb", "wh.duckdb.lock"]
    assert [p.name for p in (out / META / "staging").iterdir()] == []
    emails = pl.read_parquet(f"{out}/users/**/*.parquet", hive_partitioning=True)["email"].to_list()
    assert "new@x.com" not in emails
    # The next export goes through and sees the changes.
    run(warehouse, "parquet", out)
    assert (
        "new@x.com" in pl.read_parquet(f"{out}/users/**/*.parquet", hive_partitioning=True)["email"].to_list()
    )


def test_tables_subset_keeps_the_other_tables(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    run(warehouse, "parquet", out)
    participants = {f: v for f, v in files(out).items() if f.startswith("meeting_participants/")}
    change(warehouse, *CHANGES, "UPDATE zoom.users SET email = 'new@x.com' WHERE id = 'u2'")
    result = run(warehouse, "parquet", out, tables=["users"])
    assert [t.table for t in result.tables] == ["users"]
    assert {f: v for f, v in files(out).items() if f.startswith("meeting_participants/")} == participants
    assert (
        "new@x.com" in pl.read_parquet(f"{out}/users/**/*.parquet", hive_partitioning=True)["email"].to_list()
    )


def test_a_new_column_rewrites_the_whole_table(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    run(warehouse, "parquet", out)
    change(warehouse, "ALTER TABLE zoom.meeting_participants ADD COLUMN drift_field VARCHAR")
    result = by_table(run(warehouse, "parquet", out))
    assert result["meeting_participants"].written == result["meeting_participants"].partitions == 4
    assert (
        "drift_field"
        in pl.read_parquet(f"{out}/meeting_participants/**/*.parquet", hive_partitioning=True).columns
    )


def test_refuses_to_replace_a_directory_that_is_not_an_export(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not a zoom-etl export"):
        run(warehouse, "parquet", out)
    assert (out / "notes.txt").read_text() == "keep me"
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_files_a_user_put_in_the_export_survive_the_next_export(warehouse: Path, tmp_path: Path) -> None:
    """An export removes only what exports wrote (the files its manifest lists); the rest is carried over."""
    out = tmp_path / "export"
    run(warehouse, "parquet", out)
    (out / "notes.txt").write_text("keep me")
    (out / "users" / "README.md").write_text("the users, as of the last export")
    (out / "dashboards" / "empty").mkdir(parents=True)
    (out / "latest").symlink_to("users")
    change(warehouse, *CHANGES, "UPDATE zoom.users SET email = 'new@x.com'")
    result = by_table(run(warehouse, "parquet", out))
    assert result["users"].written > 0 and result["meeting_participants"].removed > 0
    assert (out / "notes.txt").read_text() == "keep me"
    assert (out / "users" / "README.md").read_text() == "the users, as of the last export"
    assert (out / "dashboards" / "empty").is_dir()
    assert os.readlink(out / "latest") == "users"
    manifest = manifests(out)
    assert "notes.txt" not in str(manifest) and "README.md" not in str(manifest)
    # Partitions the warehouse lost are gone (their files were the export's own).
    written = {
        f"{t}/{f}"
        for m in manifest.values()
        for t, e in m["tables"].items()
        for p in e["partitions"]
        for f in p["files"]
    }
    on_disk = {f for f in files(out) if f.endswith(".parquet")}
    assert on_disk == written


def test_a_symlinked_export_folder_is_followed_not_replaced(warehouse: Path, tmp_path: Path) -> None:
    target = tmp_path / "shared" / "zoom"
    target.parent.mkdir()
    link = tmp_path / "export"
    link.symlink_to(target, target_is_directory=True)
    run(warehouse, "parquet", link)
    (target / "notes.txt").write_text("keep me")
    change(warehouse, *CHANGES)
    run(warehouse, "parquet", link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert (link / MANIFEST).exists() and (target / "notes.txt").read_text() == "keep me"
    assert read_polars(link, "users", ["id"]) == read_polars(target, "users", ["id"])


def test_unknown_table_is_a_usage_error(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown table"):
        run(warehouse, "parquet", tmp_path / "export", tables=["nope"])


def delta_table(path: Path) -> Any:
    """The Delta table at ``path``; a test that reads one is skipped where the ``delta`` extra is absent."""
    return pytest.importorskip("deltalake").DeltaTable(str(path))


def delta_rows(out: Path, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    rows = delta_table(out / table).to_pyarrow_table().select(columns).to_pylist()
    return sorted((tuple(r.values()) for r in rows), key=repr)


def delta_files(out: Path, table: str) -> set[str]:
    return set(delta_table(out / table).file_uris())


def test_delta_round_trip(warehouse: Path, tmp_path: Path) -> None:
    pytest.importorskip("deltalake")
    out = tmp_path / "delta"
    run(warehouse, "delta", out)
    for table in FACTS_WITH_ROWS + DIMENSIONS_WITH_ROWS:
        columns, expected = warehouse_rows(warehouse, table)
        assert delta_rows(out, table, columns) == expected, table
    partitions = delta_table(out / "meeting_participants").metadata().partition_columns
    assert partitions == ["account_id", "date"]


def test_delta_rewrites_only_changed_partitions_in_one_commit(warehouse: Path, tmp_path: Path) -> None:
    pytest.importorskip("deltalake")
    out = tmp_path / "delta"
    run(warehouse, "delta", out)
    versions = {t: delta_table(out / t).version() for t in ("meeting_participants", "users")}
    before = delta_files(out, "meeting_participants")
    change(warehouse, *CHANGES)
    result = by_table(run(warehouse, "delta", out))
    assert (result["meeting_participants"].written, result["meeting_participants"].removed) == (2, 1)
    assert delta_table(out / "meeting_participants").version() == versions["meeting_participants"] + 1
    assert delta_table(out / "users").version() == versions["users"]  # nothing changed: no commit
    after = delta_files(out, "meeting_participants")
    kept = {f for f in before if "date=2024-03-11" in f or "acc%202" in f}
    assert len(kept) == 2 and kept <= after
    columns, expected = warehouse_rows(warehouse, "meeting_participants")
    assert delta_rows(out, "meeting_participants", columns) == expected


def test_delta_needs_the_deltalake_package(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "deltalake", None)  # what an install without the extra looks like
    with pytest.raises(ConfigError, match=r"pip install 'zoom-etl\[delta\]'"):
        run(warehouse, "delta", tmp_path / "delta")


def test_no_field_a_contract_refuses_to_store_is_exported(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "export"
    run(warehouse, "parquet", out)
    refused = {field for c in load_contracts().values() for field in c.ignore}
    assert {"password", "start_url", "host_key"} <= refused
    for table in FACTS_WITH_ROWS + DIMENSIONS_WITH_ROWS:
        columns = set(pl.read_parquet(f"{out}/{table}/**/*.parquet", hive_partitioning=True).columns)
        assert not columns & refused, table
