"""Loads on a real DuckDB file: idempotence, SCD2 and as-of, one transaction per batch, bookkeeping."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from etl.errors import WarehouseError
from etl.load import commit
from etl.normalize import normalize
from etl.records import Checkpoint, Page, Skip, SourceChoice
from etl.warehouse import Warehouse

P = "meeting_participants"


def sync(wh: Warehouse, run_id: str, pages: list[Page], **kwargs: Any) -> Any:
    return commit(wh, run_id, normalize(pages, wh.contracts, run_id), pages=pages, **kwargs)


def table(wh: Warehouse, name: str, order: str = "ALL") -> list[tuple[Any, ...]]:
    return wh.conn.execute(f"SELECT * FROM {name} ORDER BY {order}").fetchall()


def participants(make_page: Callable[..., Page], at: int = 0) -> list[Page]:
    records = [
        {"participant_user_id": "P1", "name": "Ann", "join_time": "2024-03-01T10:00:00Z", "duration": 60},
        {"participant_user_id": "P1", "name": "Ann", "join_time": "2024-03-01T10:30:00Z", "duration": 60},
        {"name": "iPhone", "join_time": "2024-03-01T10:00:00Z", "duration": "01:00"},
    ]
    return [make_page(P, records, at=at, context={"meeting_uuid": "u1=="})]


def test_same_pages_twice_change_nothing(wh: Warehouse, make_page: Callable[..., Page]) -> None:
    run = wh.start_run([P, "users"])
    pages = [*participants(make_page), make_page("users", [{"id": "a", "dept": "HR"}])]
    sync(wh, run, pages)
    first = {t: table(wh, t) for t in ("zoom.meeting_participants", "zoom.users", "zoom.users_history")}
    sync(wh, run, pages)
    assert {t: table(wh, t) for t in first} == first
    assert len(first["zoom.meeting_participants"]) == 3
    # A later run re-fetching the same data adds no rows and no history version.
    again = [*participants(make_page, at=24), make_page("users", [{"id": "a", "dept": "HR"}], at=24)]
    run2 = wh.start_run([P])
    sync(wh, run2, again)
    assert wh.conn.execute("SELECT count(*) FROM zoom.meeting_participants").fetchone() == (3,)
    assert wh.conn.execute("SELECT count(*), min(_run_id) FROM zoom.users_history").fetchone() == (1, run)


def test_scd2_versions_and_as_of(wh: Warehouse, make_page: Callable[..., Page]) -> None:
    run = wh.start_run(["users"])
    snapshots = [
        (0, [{"id": "a", "dept": "HR"}, {"id": "b", "dept": "Ops"}]),
        (24, [{"id": "a", "dept": "HR"}, {"id": "b", "dept": "Ops"}]),  # unchanged: no version
        (48, [{"id": "a", "dept": "IT"}, {"id": "b", "dept": "Ops"}, {"id": "c", "dept": "New"}]),
        (72, [{"id": "a", "dept": "IT", "status": "inactive"}, {"id": "b", "dept": "Ops"}]),
    ]
    for hours, records in snapshots:
        sync(wh, run, [make_page("users", records, at=hours)])
    history = wh.conn.execute(
        "SELECT id, dept, status, hour(valid_from) + 24 * (day(valid_from) - 1), valid_to IS NULL, "
        "is_current "
        "FROM zoom.users_history ORDER BY id, valid_from"
    ).fetchall()
    assert history == [
        ("a", "HR", None, 12, False, False),
        ("a", "IT", None, 60, False, False),
        ("a", "IT", "inactive", 84, True, True),
        ("b", "Ops", None, 12, True, True),
        ("c", "New", None, 60, True, True),
    ]
    closed = wh.conn.execute(
        "SELECT valid_to FROM zoom.users_history WHERE id = 'a' ORDER BY valid_from"
    ).fetchall()
    assert closed[0][0] == datetime(2024, 3, 3, 12, tzinfo=UTC)

    def as_of(ts: str) -> list[tuple[Any, ...]]:
        return wh.conn.execute(
            f"SELECT id, dept FROM zoom.users_as_of(TIMESTAMPTZ '{ts}') ORDER BY id"
        ).fetchall()

    assert as_of("2024-03-01 11:00:00+00") == []
    assert as_of("2024-03-02 00:00:00+00") == [("a", "HR"), ("b", "Ops")]
    assert as_of("2024-03-03 12:00:00+00") == [("a", "IT"), ("b", "Ops"), ("c", "New")]
    assert wh.conn.execute("SELECT dept, status FROM zoom.users WHERE id = 'a'").fetchone() == (
        "IT",
        "inactive",
    )


def test_meetings_and_webinars_have_as_of_macros(wh: Warehouse, make_page: Callable[..., Page]) -> None:
    run = wh.start_run()
    sync(
        wh,
        run,
        [
            make_page("meetings", [{"id": 1, "topic": "old"}]),
            make_page("webinars", [{"id": 2, "topic": "w"}]),
        ],
    )
    sync(wh, run, [make_page("meetings", [{"id": 1, "topic": "new"}], at=5)])
    at = "TIMESTAMPTZ '2024-03-01 13:00:00+00'"
    assert wh.conn.execute(f"SELECT topic FROM zoom.meetings_as_of({at})").fetchall() == [("old",)]
    assert wh.conn.execute(f"SELECT topic FROM zoom.webinars_as_of({at})").fetchall() == [("w",)]


def test_checkpoints_skips_sources_and_counters_commit_with_the_rows(
    wh: Warehouse, make_page: Callable[..., Page]
) -> None:
    run = wh.start_run([P])
    sync(
        wh,
        run,
        participants(make_page),
        checkpoints=[Checkpoint(P, "acct1", {"watermark": "2024-03-01"}, ("u1==",))],
        skips=[Skip(P, "acct1", "u2==", "meeting gone", 404, 3001)],
        sources=[SourceChoice(P, "acct1", "rest", "GraphQL lacks participants")],
    )
    assert wh.state(P, "acct1") == {"watermark": "2024-03-01"}
    assert wh.source(P, "acct1") == "rest"
    assert wh.done_keys(P, "acct1") == {"u1=="}
    assert wh.conn.execute("SELECT resource, status, code FROM _etl.skips").fetchall() == [
        ("u2==", 404, 3001)
    ]
    wh.finish_run(run, status="partial", exit_code=3, requests_by_category={"Heavy": 4}, errors=1)
    row = wh.conn.execute(
        "SELECT status, exit_code, rows_by_table->>'meeting_participants', "
        "requests_by_category->>'Heavy', skips, errors "
        "FROM _etl.runs WHERE run_id = ?",
        [run],
    ).fetchone()
    assert row == ("partial", 3, "3", "4", 1, 1)


def test_a_failure_mid_batch_leaves_neither_rows_nor_state(
    wh: Warehouse, make_page: Callable[..., Page]
) -> None:
    run = wh.start_run([P])
    bad_state = Checkpoint(P, "acct1", {"cursor": object()})  # cannot be serialized: fails after the upserts
    with pytest.raises(WarehouseError, match="rolled back"):
        sync(wh, run, [*participants(make_page), make_page("users", [{"id": "a"}])], checkpoints=[bad_state])
    for name in (
        "zoom.meeting_participants",
        "zoom.users",
        "zoom.users_history",
        "raw.pages",
        "_etl.state",
        "_etl.done_keys",
    ):
        assert wh.conn.execute(f"SELECT count(*) FROM {name}").fetchone() == (0,), name
    assert wh.conn.execute("SELECT rows_by_table FROM _etl.runs").fetchone() == ("{}",)
    # And the warehouse is usable afterwards.
    sync(wh, run, participants(make_page), checkpoints=[Checkpoint(P, "acct1", {"cursor": "x"})])
    assert wh.conn.execute("SELECT count(*) FROM zoom.meeting_participants").fetchone() == (3,)


def test_rejects_and_evolved_columns_persist(warehouse_path: Path, make_page: Callable[..., Page]) -> None:
    with Warehouse.open(warehouse_path) as wh:
        run = wh.start_run(["users"])
        result = sync(
            wh, run, [make_page("users", [{"id": "a", "cost_center": 7}, {"id": "b", "pmi": "x1"}])]
        )
        assert result.rejects == 1 and result.schema_changes == 1
    with Warehouse.open(warehouse_path) as wh:
        assert wh.contracts["users"].column("cost_center").evolved
        assert wh.conn.execute("SELECT id, cost_center FROM zoom.users").fetchall() == [("a", "7")]
        assert wh.conn.execute("SELECT cost_center FROM zoom.users_history").fetchall() == [("7",)]
        assert wh.conn.execute(
            "SELECT table_name, column_name, value, reason, payload->>'id' FROM _etl.rejects"
        ).fetchall() == [("users", "pmi", "x1", "cannot read as BIGINT", "b")]
        assert wh.conn.execute(
            "SELECT column_name, mode, column_type, run_id FROM _etl.schema_changes"
        ).fetchall() == [("cost_center", "evolve", "VARCHAR", run)]


def test_raw_landing_can_be_switched_off(warehouse_path: Path, make_page: Callable[..., Page]) -> None:
    with Warehouse.open(warehouse_path, raw=False) as wh:
        run = wh.start_run([P])
        result = sync(wh, run, participants(make_page))
        assert result.raw_pages == 0
        assert wh.conn.execute("SELECT count(*) FROM raw.pages").fetchone() == (0,)
        assert wh.conn.execute("SELECT count(*) FROM zoom.meeting_participants").fetchone() == (3,)


def test_new_fields_that_would_clash_with_a_column_are_recorded_as_discarded(
    warehouse_path: Path, make_page: Callable[..., Page]
) -> None:
    """DuckDB's column names ignore case and SCD2 tables own ``valid_from``...: such a field cannot become
    a column. It is recorded as discarded (its values stay in raw) and the batch loads."""
    with Warehouse.open(warehouse_path) as wh:
        run = wh.start_run(["users"])
        records = [
            {"id": "a", "Email": "A@X.COM", "valid_from": "x", "newcol": 1, "NewCol": 2, "is_Current": 0}
        ]
        sync(wh, run, [make_page("users", records)])
        changes = wh.conn.execute("SELECT column_name, mode FROM _etl.schema_changes ORDER BY 1").fetchall()
        assert changes == [
            ("Email", "discard"),
            ("NewCol", "evolve"),  # the first of two spellings (in sorted order) becomes the column
            ("is_Current", "discard"),
            ("newcol", "discard"),
            ("valid_from", "discard"),
        ]
        assert wh.conn.execute("SELECT id, newcol FROM zoom.users").fetchall() == [("a", "2")]
        assert wh.conn.execute("SELECT count(*) FROM zoom.users_history").fetchone() == (1,)
    with Warehouse.open(warehouse_path) as wh:  # a later run: "NEWCOL" meets the evolved "NewCol"
        run = wh.start_run(["users"])
        sync(wh, run, [make_page("users", [{"id": "b", "NEWCOL": 3}], at=24)])
        assert ("NEWCOL", "discard") in wh.conn.execute(
            "SELECT column_name, mode FROM _etl.schema_changes"
        ).fetchall()
        assert wh.conn.execute("SELECT count(*) FROM zoom.users").fetchone() == (2,)


def test_an_empty_identity_is_a_reject_not_a_key(wh: Warehouse, make_page: Callable[..., Page]) -> None:
    """GraphQL spells "no value" as "": two records without a user id must not merge into one row."""
    run = wh.start_run(["users"])
    result = sync(wh, run, [make_page("users", [{"id": "", "email": "a@x"}, {"id": "", "email": "b@x"}])])
    assert result.rejects == 2
    assert wh.conn.execute("SELECT count(*) FROM zoom.users").fetchone() == (0,)
    assert wh.conn.execute("SELECT DISTINCT reason FROM _etl.rejects").fetchall() == [
        ("missing required value",)
    ]


def test_a_failed_load_reports_duckdb_s_first_error_not_the_aborted_transaction(wh: Warehouse) -> None:
    """A statement that fails aborts the transaction; the staging view is then unregistered in a
    ``finally``, which DuckDB refuses ("Current transaction is aborted"), and Python reports that second
    error. The first one says what went wrong."""
    import polars as pl

    from etl.load import bookkeeping

    bad = pl.DataFrame(
        {"table_name": ["users"], "reason": [None]}, schema={"table_name": pl.String, "reason": pl.String}
    )
    with pytest.raises(WarehouseError) as info, wh.transaction() as conn:
        bookkeeping.rejects(conn, bad)
    message = str(info.value)
    assert "NOT NULL constraint failed" in message and "reason" in message, message
    assert "aborted" not in message
    assert wh.conn.execute("SELECT count(*) FROM _etl.rejects").fetchone() == (0,)  # rolled back


def _flood(make_page: Callable[..., Page], start: int, fields: int, at: int = 0) -> list[Page]:
    """Users whose records carry ``fields`` new fields between them, never seen before."""
    records = [
        {"id": f"u{n}", **{f"new_{start + n * 100 + i}": "x" for i in range(100)}}
        for n in range(fields // 100)
    ]
    return [make_page("users", records, at=at)]


def test_a_flood_of_new_fields_is_capped_and_counted(wh: Warehouse, make_page: Callable[..., Page]) -> None:
    """Thousands of new fields: drift adds at most MAX_EVOLVED_COLUMNS columns to a table, ever; the
    rest are discarded (values kept in raw.pages), and at most MAX_RECORDED_CHANGES of them are recorded
    per run and stream; the others are counted in the run's row."""
    from etl.load.bookkeeping import MAX_RECORDED_CHANGES
    from etl.normalize.table import MAX_EVOLVED_COLUMNS

    columns = "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'zoom' AND table_name = ?"
    width = wh.conn.execute(columns, ["users"]).fetchone()[0]  # type: ignore[index]
    changes = "SELECT mode, count(*) FROM _etl.schema_changes GROUP BY ALL ORDER BY 1"
    run = wh.start_run(["users"])
    for batch in range(3):  # one run, three batches: the cap is per run, not per batch
        sync(wh, run, _flood(make_page, batch * 10_000, 1_000, at=batch))
    assert wh.conn.execute(columns, ["users"]).fetchone() == (width + MAX_EVOLVED_COLUMNS,)
    assert wh.conn.execute(changes).fetchall() == [
        ("discard", MAX_RECORDED_CHANGES),
        ("evolve", MAX_EVOLVED_COLUMNS),
    ]
    counted = "SELECT schema_changes, schema_changes_unrecorded FROM _etl.runs WHERE run_id = ?"
    recorded = MAX_EVOLVED_COLUMNS + MAX_RECORDED_CHANGES
    assert wh.conn.execute(counted, [run]).fetchone() == (recorded, 3_000 - recorded)

    second = wh.start_run(["users"])  # another run: the table is as wide as it may be
    sync(wh, second, _flood(make_page, 100_000, 1_000, at=5))
    assert wh.conn.execute(columns, ["users"]).fetchone() == (width + MAX_EVOLVED_COLUMNS,)
    assert wh.conn.execute(changes).fetchall() == [
        ("discard", 2 * MAX_RECORDED_CHANGES),
        ("evolve", MAX_EVOLVED_COLUMNS),
    ]
    assert wh.conn.execute(counted, [second]).fetchone() == (
        MAX_RECORDED_CHANGES,
        1_000 - MAX_RECORDED_CHANGES,
    )
    assert wh.conn.execute("SELECT count(*) FROM zoom.users").fetchone() == (10,)
