"""The key without a DuckDB PRIMARY KEY: the loader keeps it unique, and large loads take the bulk path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from etl.contracts import load_contracts
from etl.load import commit
from etl.normalize import normalize
from etl.rebuild import rebuild
from etl.records import Page
from etl.warehouse import Warehouse

P = "meeting_participants"


def sync(wh: Warehouse, run_id: str, pages: list[Page]) -> Any:
    return commit(wh, run_id, normalize(pages, wh.contracts, run_id), pages=pages)


def segments(make_page: Callable[..., Page], uuid: str, people: range, *, at: int, leave: str) -> Page:
    records = [
        {
            "participant_user_id": f"P{i}",
            "name": f"Person {i}",
            "join_time": f"2024-03-01T10:{i % 60:02d}:00Z",
            "leave_time": leave,
            "duration": i,
        }
        for i in people
    ]
    return make_page(P, records, at=at, context={"meeting_uuid": uuid})


def duplicates(wh: Warehouse, table: str, key: tuple[str, ...]) -> list[tuple[Any, ...]]:
    columns = ", ".join(key)
    return wh.conn.execute(
        f"SELECT {columns}, count(*) FROM zoom.{table} GROUP BY ALL HAVING count(*) > 1"
    ).fetchall()


def test_repeated_and_overlapping_loads_keep_one_row_per_key(
    wh: Warehouse, make_page: Callable[..., Page]
) -> None:
    key = wh.contracts[P].key
    run = wh.start_run([P, "users"])
    # Batch 1: m1 people 0-39 (and a duplicate of one of them within the batch).
    first = [
        segments(make_page, "m1", range(40), at=0, leave="2024-03-01T11:00:00Z"),
        segments(make_page, "m1", range(5, 6), at=1, leave="2024-03-01T11:05:00Z"),
    ]
    sync(wh, run, first)
    # Batch 2 overlaps batch 1 (people 30-59 of m1) and adds m2; batch 3 repeats batch 2 exactly.
    second = [
        segments(make_page, "m1", range(30, 60), at=2, leave="2024-03-01T12:00:00Z"),
        segments(make_page, "m2", range(20), at=2, leave="2024-03-01T12:00:00Z"),
    ]
    sync(wh, run, second)
    sync(wh, run, second)
    # Users: the same id in three batches, twice within one of them.
    for hours, dept in ((0, "HR"), (1, "IT"), (1, "IT")):
        sync(wh, run, [make_page("users", [{"id": "a", "dept": dept}, {"id": "a", "dept": dept}], at=hours)])

    assert duplicates(wh, P, key) == []
    assert duplicates(wh, "users", wh.contracts["users"].key) == []
    assert wh.conn.execute("SELECT count(*) FROM zoom.meeting_participants").fetchone() == (80,)
    leaves = dict(
        wh.conn.execute(
            "SELECT participant_key, hour(leave_time) * 60 + minute(leave_time)"
            " FROM zoom.meeting_participants WHERE meeting_uuid = 'm1'"
        ).fetchall()
    )
    assert leaves["P5"] == 11 * 60 + 5  # the later page of batch 1 won
    assert leaves["P29"] == 11 * 60 and leaves["P30"] == 12 * 60  # batch 2 replaced the overlap
    assert wh.conn.execute("SELECT dept FROM zoom.users").fetchall() == [("IT",)]
    assert wh.conn.execute("SELECT count(*) FROM zoom.users_history").fetchone() == (2,)

    rebuild(wh, chunk_rows=25)  # chunks smaller than batches: keys overlap across chunks too
    assert duplicates(wh, P, key) == []
    assert wh.conn.execute("SELECT count(*) FROM zoom.meeting_participants").fetchone() == (80,)
    assert duplicates(wh, "users_history", (*wh.contracts["users"].key, "valid_from")) == []


def test_a_batch_larger_than_a_row_group_bypasses_the_wal(
    warehouse_path: Path, make_page: Callable[..., Page]
) -> None:
    """Why row groups are small: a batch that fills one is written straight to the file."""
    with Warehouse.open(warehouse_path, raw=False) as wh:
        run = wh.start_run([P])
        pages = [
            segments(make_page, f"m{n}", range(300), at=0, leave="2024-03-01T11:00:00Z") for n in range(70)
        ]
        sync(wh, run, pages)  # 21,000 rows into an empty table
        sync(wh, run, [segments(make_page, f"n{n}", range(300), at=1, leave="") for n in range(70)])
        wal = warehouse_path.with_name(warehouse_path.name + ".wal")
        assert not wal.exists() or wal.stat().st_size < 1_000_000
        assert wh.conn.execute("SELECT count(*) FROM zoom.meeting_participants").fetchone() == (42_000,)
        assert duplicates(wh, P, wh.contracts[P].key) == []


def test_a_warehouse_from_before_keeps_working(warehouse_path: Path, make_page: Callable[..., Page]) -> None:
    """Warehouses created before the key moved to the loader keep their PRIMARY KEY (delete + insert of
    the same key in one transaction must work there too), and their raw pages stored as JSON text are
    converted in place and still replay exactly."""
    contract = load_contracts()[P]
    conn = duckdb.connect()
    conn.execute(f"ATTACH '{warehouse_path}' AS warehouse")
    conn.execute("USE warehouse")
    conn.execute("CREATE SCHEMA zoom")
    conn.execute("CREATE SCHEMA raw")
    conn.execute(
        "CREATE TABLE zoom.meeting_participants (account_id VARCHAR NOT NULL, "
        + ", ".join(f'"{c.name}" {c.type}' for c in contract.columns)
        + ", _run_id VARCHAR NOT NULL, _synced_at TIMESTAMPTZ NOT NULL, PRIMARY KEY ("
        + ", ".join(contract.key)
        + "))"
    )
    conn.execute(
        "CREATE TABLE raw.pages (batch_seq BIGINT NOT NULL, page_no INTEGER NOT NULL,"
        " run_id VARCHAR NOT NULL, stream VARCHAR NOT NULL, account_id VARCHAR NOT NULL,"
        " source VARCHAR NOT NULL,"
        " request VARCHAR NOT NULL, fetched_at TIMESTAMPTZ NOT NULL, context JSON,"
        " record_count INTEGER NOT NULL, records VARCHAR NOT NULL, PRIMARY KEY (batch_seq, page_no))"
    )
    conn.execute(
        "INSERT INTO raw.pages VALUES (1, 0, 'old', ?, 'acct1', 'rest', 'GET /x', "
        "TIMESTAMPTZ '2024-03-01 12:00:00+00', '{\"meeting_uuid\": \"m0\"}', 1, ?)",
        [P, '[{"participant_user_id": "Pé", "name": "Zoë", "join_time": "2024-03-01T09:00:00Z"}]'],
    )
    conn.close()
    with Warehouse.open(warehouse_path) as wh:
        assert wh.conn.execute("SELECT codec, typeof(records) FROM raw.pages").fetchall() == [
            ("json", "BLOB")
        ]
        run = wh.start_run([P])
        sync(wh, run, [segments(make_page, "m1", range(10), at=0, leave="2024-03-01T11:00:00Z")])
        sync(wh, run, [segments(make_page, "m1", range(5, 15), at=1, leave="2024-03-01T12:00:00Z")])
        assert wh.conn.execute("SELECT count(*) FROM zoom.meeting_participants").fetchone() == (15,)
        assert duplicates(wh, P, wh.contracts[P].key) == []
        before = wh.conn.execute("SELECT * FROM zoom.meeting_participants ORDER BY ALL").fetchall()
        assert rebuild(wh, [P]) == {P: 16}  # the legacy page's row comes back too
        after = wh.conn.execute("SELECT * FROM zoom.meeting_participants ORDER BY ALL").fetchall()
        assert [r for r in after if r[1] != "m0"] == before
        assert wh.conn.execute(
            "SELECT name, participant_key, _run_id FROM zoom.meeting_participants WHERE meeting_uuid = 'm0'"
        ).fetchall() == [("Zoë", "Pé", "old")]
