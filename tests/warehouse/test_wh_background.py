"""BackgroundLoader (commit on a worker while the caller normalizes), raw encoding, rebuild's shadows."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from etl import rebuild as rebuild_module
from etl.errors import WarehouseError
from etl.load import BackgroundLoader, LoadResult, commit
from etl.load import batch as load_batch
from etl.normalize import normalize
from etl.rebuild import rebuild
from etl.records import Checkpoint, Page
from etl.warehouse import Warehouse
from etl.warehouse.raw import decode, encode

P = "meeting_participants"


def batches(make_page: Callable[..., Page]) -> list[list[Page]]:
    """Three batches: participants that overlap, users that change, and a drifted field."""

    def seg(pid: str, join: str, **extra: Any) -> dict[str, Any]:
        return {"participant_user_id": pid, "name": pid, "join_time": join, **extra}

    return [
        [
            make_page(
                P,
                [seg("P1", "2024-03-01T10:00:00Z"), seg("P2", "2024-03-01T10:01:00Z")],
                context={"meeting_uuid": "m1"},
            ),
            make_page("users", [{"id": "a", "dept": "HR"}]),
        ],
        [
            make_page(
                P, [seg("P2", "2024-03-01T10:01:00Z", duration=9)], at=1, context={"meeting_uuid": "m1"}
            ),
            make_page("users", [{"id": "a", "dept": "IT", "cost_center": 7}], at=1),
        ],
        [make_page("users", [{"id": "a", "dept": "IT", "cost_center": 8}, {"id": "b"}], at=2)],
    ]


def dump(wh: Warehouse) -> dict[str, list[tuple[Any, ...]]]:
    """Every table a batch writes, without run ids and wall-clock times (two warehouses differ there)."""
    queries = {
        "zoom.meeting_participants": "SELECT * EXCLUDE (_run_id) FROM zoom.meeting_participants",
        "zoom.users": "SELECT * EXCLUDE (_run_id) FROM zoom.users",
        "zoom.users_history": "SELECT * EXCLUDE (_run_id) FROM zoom.users_history",
        "_etl.state": "SELECT stream, account_id, state FROM _etl.state",
        "_etl.schema_changes": "SELECT table_name, column_name, mode, column_type FROM _etl.schema_changes",
    }
    return {name: wh.conn.execute(f"{sql} ORDER BY ALL").fetchall() for name, sql in queries.items()}


def test_background_loads_equal_serial_commits(tmp_path: Path, make_page: Callable[..., Page]) -> None:
    with Warehouse.open(tmp_path / "serial.duckdb") as wh:
        run = wh.start_run()
        for n, pages in enumerate(batches(make_page)):
            cp = Checkpoint("users", "acct1", {"n": n})
            commit(wh, run, normalize(pages, wh.contracts, run), pages=pages, checkpoints=[cp])
        serial = dump(wh)

    reported: list[tuple[int, LoadResult, str]] = []
    with Warehouse.open(tmp_path / "background.duckdb") as wh:
        run = wh.start_run()
        with BackgroundLoader(wh) as loader:
            for n, pages in enumerate(batches(make_page)):
                cp = Checkpoint("users", "acct1", {"n": n})

                def done(result: LoadResult, n: int = n) -> None:
                    reported.append((n, result, threading.current_thread().name))

                loader.submit(
                    run, normalize(pages, wh.contracts, run), pages=pages, checkpoints=[cp], on_done=done
                )
            loader.drain()
            assert [r[0] for r in reported] == [0, 1, 2]
            assert all(name == threading.current_thread().name for _, _, name in reported)
            assert [r[1].batch_seq for r in reported] == [1, 2, 3]
            assert reported[0][1].rows == {P: 2, "users": 1} and reported[2][1].raw_pages == 1
            assert wh.contracts["users"].column("cost_center").evolved  # adopted after the commit
        assert dump(wh) == serial
        assert wh.counters[run].rows == {P: 3, "users": 4}


def test_a_failed_background_commit_is_raised_and_rolled_back(
    wh: Warehouse, make_page: Callable[..., Page]
) -> None:
    run = wh.start_run()
    good, bad = batches(make_page)[:2]
    with BackgroundLoader(wh) as loader:
        loader.submit(run, normalize(good, wh.contracts, run), pages=good)
        unserializable = Checkpoint("users", "acct1", {"cursor": object()})
        loader.submit(run, normalize(bad, wh.contracts, run), pages=bad, checkpoints=[unserializable])
        # Any failure of a load is a WarehouseError (the run ends "failed" with it), caused by the original.
        with pytest.raises(WarehouseError, match="rolled back") as raised:
            loader.drain()
        assert isinstance(raised.value.__cause__, TypeError)
        # Later batches still go through once the error has been raised.
        loader.submit(run, normalize(bad, wh.contracts, run), pages=bad)
    assert wh.conn.execute("SELECT count(*) FROM raw.pages").fetchone() == (4,)
    assert wh.conn.execute("SELECT count(*) FROM _etl.state").fetchone() == (0,)
    assert wh.conn.execute("SELECT dept FROM zoom.users").fetchall() == [("IT",)]


def test_raw_encoding_round_trips_exactly() -> None:
    records: list[dict[str, Any]] = [
        {"name": "Zoë \u2603 \U0001f600", "n": 12345678901234567, "f": 0.1, "t": True, "z": None},
        {"nested": {"a": [1, 2, {"b": "c"}]}, "empty": "", "neg": -1.5e-7},
    ]
    blob, size = encode(records)
    assert size > len(blob) / 2 and decode(blob, "zstd", size) == records
    assert decode(b'[{"a": 1}]', "json", None) == [{"a": 1}]


def test_a_failed_rebuild_leaves_the_tables_and_the_next_one_cleans_up(
    wh: Warehouse, make_page: Callable[..., Page], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = wh.start_run()
    for pages in batches(make_page):
        commit(wh, run, normalize(pages, wh.contracts, run), pages=pages)
    before = dump(wh)
    calls = 0
    real = load_batch.load_tables

    def failing(*args: Any, **kwargs: Any) -> dict[str, int]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(rebuild_module, "load_tables", failing)
    with pytest.raises(WarehouseError, match="disk full"):
        rebuild(wh, chunk_rows=1)
    assert dump(wh) == before
    shadows = "SELECT count(*) FROM duckdb_tables() WHERE starts_with(table_name, '_rebuild_')"
    assert wh.conn.execute(shadows).fetchone() != (0,)  # left behind by the failure...
    monkeypatch.undo()
    rebuild(wh, chunk_rows=1)
    assert wh.conn.execute(shadows).fetchone() == (0,)  # ...and dropped by the next rebuild
    assert dump(wh) == before
    columns = "SELECT column_name, is_nullable FROM information_schema.columns WHERE table_name = 'users'"
    assert wh.conn.execute(columns).fetchall()[-1] == ("cost_center", "YES")  # drift column still last
    comment = wh.conn.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'users'").fetchone()
    assert comment is not None and "Key (enforced by the loader): account_id, id." in comment[0]
