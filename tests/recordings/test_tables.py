"""The tables fed by downloaded files: declared by contracts, in the data dictionary, never rebuilt."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from etl.cli import cli
from etl.contracts import load_contracts
from etl.rebuild import rebuild
from etl.recordings.tables import create_tables, file_contracts
from etl.warehouse.connection import Warehouse

TABLES = {
    "recording_downloads": ("file_id",),
    "transcript_segments": ("file_id", "sequence"),
    "chat_messages": ("file_id", "sequence"),
}


def test_file_tables_have_contracts_apart_from_the_stream_tables() -> None:
    contracts = file_contracts()
    assert {name: c.primary_key for name, c in contracts.items()} == TABLES
    assert not set(contracts) & set(load_contracts())
    assert all(c.description for c in contracts.values() for c in c.columns)


def test_the_data_dictionary_lists_them(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZOOM_ETL_WAREHOUSE", raising=False)
    result = CliRunner().invoke(cli, ["docs"])
    assert result.exit_code == 0, result.output
    for table in TABLES:
        assert f"### `zoom.{table}`" in result.output
    assert "`speaker`" in result.output and "`sha256`" in result.output


def test_rebuild_leaves_them_alone(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        create_tables(wh.conn)
        wh.conn.execute(
            "INSERT INTO zoom.chat_messages (account_id, file_id, sequence, meeting_uuid, _run_id,"
            " _synced_at) VALUES ('a', 'f', 1, 'm', 'r', now())"
        )
        rebuild(wh)
        assert wh.conn.execute("SELECT count(*) FROM zoom.chat_messages").fetchone() == (1,)
