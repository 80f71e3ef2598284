"""A batch normalized in parts as its pages arrive (``pipeline.Batch``, the memory bound) ends with the
same warehouse as batches normalized at once: the references are synced in parts of 40 rows, this sync
in whole batches; raw landing and rebuild agree too."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conftest import References, sync_here
from reliability_kit import assert_same_data, open_read_only

from etl.rebuild import rebuild
from etl.simulator.server import RunningSimulator
from etl.warehouse import Warehouse


def test_parts_and_whole_batches_give_one_warehouse(
    tmp_path: Path, references: References, fresh_sim: Callable[..., RunningSimulator]
) -> None:
    whole = tmp_path / "whole.duckdb"
    result = sync_here(fresh_sim(), whole, part_rows=1_000_000)
    assert result.exit_code == 0, result.as_dict()
    assert_same_data(whole, references.full)
    query = "SELECT stream, count(*), sum(record_count) FROM raw.pages GROUP BY ALL ORDER BY ALL"
    with open_read_only(whole) as a, open_read_only(references.full) as b:
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
        numbering = "SELECT count(*) FROM raw.pages GROUP BY batch_seq HAVING max(page_no) + 1 <> count(*)"
        assert b.execute(numbering).fetchall() == [], "pages of a batch numbered 0..n-1"
    parted = references.copy("full", tmp_path / "parted.duckdb")
    with Warehouse.open(parted) as wh:
        rebuild(wh)
    assert_same_data(parted, references.full)
