"""A small warehouse for export tests: two accounts (one id needing URL-encoding), several days, a NULL
day, JSON columns, an SCD2 history table; rows inserted with plain SQL into tables made by the DDL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from etl.warehouse.connection import Warehouse

SYNCED = datetime(2024, 6, 1, tzinfo=UTC)
ODD_ACCOUNT = "acc 2/x=y"


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2024, 3, day, hour, tzinfo=UTC)


def insert(conn: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
    for given in rows:
        row = {"account_id": "acc1", "_run_id": "run-1", "_synced_at": SYNCED, **given}
        names = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        conn.execute(f"INSERT INTO zoom.{table} ({names}) VALUES ({marks})", list(row.values()))


def participant(uuid: str, key: str, join: datetime, account: str = "acc1") -> dict[str, Any]:
    return {
        "account_id": account,
        "meeting_uuid": uuid,
        "participant_key": key,
        "join_time": join,
        "leave_time": join.replace(minute=30),
        "duration": 1800,
        "name": f"name {key}",
    }


ROWS: dict[str, list[dict[str, Any]]] = {
    "users": [
        {"id": "u1", "email": "a@x.com", "type": 2, "status": "active", "group_ids": '["g1", "g2"]'},
        {"id": "u2", "email": "b@x.com", "type": 1, "status": "active"},
        {"account_id": ODD_ACCOUNT, "id": "u9", "email": "z@y.com", "type": 2, "status": "pending"},
    ],
    "users_history": [
        {
            "id": "u1",
            "email": "a@x.com",
            "valid_from": at(1),
            "valid_to": at(5),
            "is_current": False,
            "_row_hash": "h1",
        },
        {"id": "u1", "email": "a@x.com", "valid_from": at(5), "is_current": True, "_row_hash": "h2"},
    ],
    "meeting_instances": [
        {"uuid": "m1", "id": 1, "start_time": at(10, 9), "duration": 60, "custom_keys": '[{"key": "k"}]'},
        {"uuid": "m2", "id": 2, "start_time": at(11, 9), "duration": 30},
        {"uuid": "m-null", "id": 3, "topic": "no start time"},
        {"account_id": ODD_ACCOUNT, "uuid": "/m3//", "id": 4, "start_time": at(10, 23), "duration": 5},
    ],
    "meeting_participants": [
        participant("m1", "p1", at(10, 9)),
        participant("m1", "p2", at(10, 9)),
        participant("m2", "p1", at(11, 9)),
        participant("m2", "p3", at(12, 9)),
        participant("/m3//", "p9", at(10, 23), account=ODD_ACCOUNT),
    ],
    "daily_usage": [
        {"date": date(2024, 3, 10), "meetings": 2, "participants": 3, "meeting_minutes": 90},
        {"date": date(2024, 3, 11), "meetings": 1, "participants": 2, "meeting_minutes": 30},
    ],
}


def make_warehouse(path: Path, rows: Mapping[str, Sequence[Mapping[str, Any]]] = ROWS) -> Path:
    with Warehouse.open(path) as warehouse, warehouse.transaction() as conn:
        for table, table_rows in rows.items():
            insert(conn, table, table_rows)
    return path


def change(path: Path, *statements: str) -> None:
    """Run SQL against the warehouse, as a sync would between two exports."""
    with Warehouse.open(path) as warehouse, warehouse.transaction() as conn:
        for statement in statements:
            conn.execute(statement)
