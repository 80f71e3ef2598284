"""Rebuild from raw ends identical to the synced tables (EXCEPT both ways, every column)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from etl.errors import ConfigError
from etl.load import commit
from etl.normalize import normalize
from etl.rebuild import rebuild
from etl.records import Page, Unreadable
from etl.warehouse import Warehouse

P = "meeting_participants"


def batches(make_page: Callable[..., Page]) -> list[list[Page]]:
    def seg(name: str, join: str, **extra: object) -> dict[str, object]:
        return {"name": name, "join_time": join, "duration": 60, **extra}

    return [
        [
            make_page(
                "users",
                [
                    {"id": "a", "dept": "HR"},
                    {"id": "b", "dept": "Ops", "pmi": "bad"},
                    # a record no JSON writer could store (etl.http.body.screen): rebuilt as the same reject
                    Unreadable('{"id":"c","first_name":"Ren\ufffd"}', "invalid UTF-8 or a lone surrogate"),
                ],
                at=0,
            ),
            make_page(
                P,
                [
                    seg("iPhone", "2024-03-01T10:00:00Z"),
                    seg("Ann", "2024-03-01T10:00:00Z", participant_user_id="P1"),
                ],
                at=0,
                context={"meeting_uuid": "m1"},
            ),
            make_page(
                "recordings", [{"uuid": "m1", "id": 5, "recording_files": [{"id": "f1"}, {"id": "f2"}]}], at=0
            ),
        ],
        [
            make_page(
                P,
                [seg("iPhone", "2024-03-01T10:00:00Z", leave_time="2024-03-01T10:09:00Z"), seg("x", "never")],
                at=1,
                context={"meeting_uuid": "m1"},
            ),
            make_page("users", [{"id": "a", "dept": "IT", "badge": {"n": 1}}], at=1),
            make_page("daily_usage", [{"date": "2024-03-01", "meetings": 3}], at=1),
        ],
        [
            make_page(
                "users", [{"id": "a", "dept": "IT", "badge": {"n": 1}}, {"id": "b", "dept": "Ops"}], at=30
            ),
            make_page("users", [{"id": "a", "dept": "Sales"}], at=31),
            make_page(
                P,
                [seg("iPhone", "2024-03-01T10:00:00Z", leave_time="2024-03-01T10:05:00Z")],
                at=0,
                context={"meeting_uuid": "m1"},
            ),  # older snapshot loaded later: the later load wins
        ],
    ]


def snapshot_tables(wh: Warehouse) -> list[str]:
    names = []
    for contract in wh.contracts.values():
        names.append(f"zoom.{contract.table}")
        if contract.history_table:
            names.append(f"zoom.{contract.history_table}")
    return names


def test_rebuild_is_identical_to_the_sync(wh: Warehouse, make_page: Callable[..., Page]) -> None:
    for n, pages in enumerate(batches(make_page)):
        run = wh.start_run(run_id=f"run{n}")
        commit(wh, run, normalize(pages, wh.contracts, run), pages=pages)
    names = [*snapshot_tables(wh), "_etl.rejects"]
    for name in names:
        wh.conn.execute(f'CREATE TEMP TABLE "before_{name}" AS SELECT * FROM {name}')
    counts = {n: wh.conn.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names}  # type: ignore[index]
    assert counts["zoom.users_history"] == 4 and counts["zoom.meeting_participants"] == 2
    assert counts["_etl.rejects"] == 3 and counts["zoom.recording_files"] == 2

    rebuilt = rebuild(wh, chunk_rows=2)
    assert rebuilt["meeting_participants"] == 2
    for name in names:
        for a, b in ((name, f'temp.main."before_{name}"'), (f'temp.main."before_{name}"', name)):
            diff = wh.conn.execute(f"SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b}").fetchall()
            assert diff == [], f"{name}: {a} has rows {b} lacks: {diff}"
    leave = wh.conn.execute(
        "SELECT leave_time FROM zoom.meeting_participants WHERE name = 'iPhone'"
    ).fetchone()
    assert leave is not None and leave[0].minute == 5


def test_rebuild_selected_tables_only(wh: Warehouse, make_page: Callable[..., Page]) -> None:
    for n, pages in enumerate(batches(make_page)):
        run = wh.start_run(run_id=f"run{n}")
        commit(wh, run, normalize(pages, wh.contracts, run), pages=pages)
    wh.conn.execute("DELETE FROM zoom.daily_usage")
    wh.conn.execute("DELETE FROM zoom.users_history")
    assert rebuild(wh, ["users"]) == {"users": 2}
    assert wh.conn.execute("SELECT count(*) FROM zoom.users_history").fetchone() == (4,)
    assert wh.conn.execute("SELECT count(*) FROM zoom.daily_usage").fetchone() == (0,)
    with pytest.raises(ConfigError, match="nope"):
        rebuild(wh, ["nope"])
