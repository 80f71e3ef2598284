"""What earlier runs left in the warehouse that the next run starts from: parent keys whose children were
never finished, outstanding gaps, and the history that sizes a plan. Reads only; the pipeline calls them
on the writer's connection, the dry run on the read copy."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb

from etl.contracts import load_contracts
from etl.errors import ContractError
from etl.plan.estimate import History
from etl.records import Gap
from etl.streams import BY_NAME, keyed_streams
from etl.warehouse.connection import Warehouse


def child_keys() -> dict[str, tuple[str, str, str]]:
    """Per keyed child stream (``Stream.keyed``), the parent table whose keys it is fetched for, the key
    column and the parent's time column (its contract's ``time_column``), all derived from the registry."""
    contracts = load_contracts()
    found: dict[str, tuple[str, str, str]] = {}
    for stream in keyed_streams():
        assert stream.parent is not None
        parent = BY_NAME[stream.parent]
        table = parent.tables[0]
        when = contracts[table].time_column
        if when is None:
            raise ContractError(f"{table}.toml: no time_column, needed to retry {stream.name}'s pending keys")
        found[stream.name] = (table, parent.keys[0], when)
    return found


PENDING_DAYS = 35  # how far back an unfinished child key is retried (older ones stay recorded as skips)


def pending_keys(wh: Warehouse, account_id: str, now: datetime) -> dict[str, list[str]]:
    """Per keyed child stream, the parent keys an earlier run listed but never finished (a crash, a
    transient failure), limited to the last ``PENDING_DAYS`` days."""
    horizon = now - timedelta(days=PENDING_DAYS)
    pending: dict[str, list[str]] = {}
    for stream, (table, key, when) in child_keys().items():
        rows = wh.conn.execute(
            f"SELECT {key} FROM zoom.{table} WHERE account_id = ? AND {when} >= ?"
            f" AND {key} NOT IN (SELECT key FROM _etl.done_keys WHERE stream = ? AND account_id = ?)"
            f" ORDER BY {when}, {key}",
            [account_id, horizon, stream, account_id],
        ).fetchall()
        pending[stream] = [r[0] for r in rows]
    return pending


def outstanding_gaps(wh: Warehouse, account_id: str) -> list[Gap]:
    """The gaps earlier runs left for ``account_id`` (``etl.extract.gaps``), oldest first."""
    rows = wh.conn.execute(
        "SELECT stream, scope, first_day, last_day, reason FROM _etl.gaps WHERE account_id = ?"
        " ORDER BY recorded_at, stream, scope, first_day",
        [account_id],
    ).fetchall()
    return [
        Gap(stream, account_id, scope, first, last, reason) for stream, scope, first, last, reason in rows
    ]


def gap_counts(wh: Warehouse, account_ids: list[str], streams: tuple[str, ...]) -> dict[str, int]:
    """Outstanding gaps per stream of ``streams`` over ``account_ids``."""
    rows = wh.conn.execute(
        "SELECT stream, count(*) FROM _etl.gaps WHERE list_contains(?, account_id)"
        " AND list_contains(?, stream) GROUP BY stream ORDER BY stream",
        [account_ids, list(streams)],
    ).fetchall()
    return {stream: int(count) for stream, count in rows}


def read_history(conn: duckdb.DuckDBPyConnection, account_id: str) -> History:
    """What the warehouse knows that sizes the next run's children (``etl.plan.estimate``)."""

    def per_day(sql: str) -> dict[date, int]:
        return {day: int(n) for day, n in conn.execute(sql, [account_id]).fetchall()}

    done = "SELECT key FROM _etl.done_keys WHERE stream = 'meeting_participants' AND account_id = ?"
    webinars = conn.execute(
        "SELECT count(*) FROM zoom.webinars WHERE account_id = ?", [account_id]
    ).fetchone()
    return History(
        instances=per_day(
            "SELECT start_time::DATE, count(*) FROM zoom.meeting_instances WHERE account_id = ? GROUP BY 1"
        ),
        done=per_day(
            "SELECT start_time::DATE, count(*) FROM zoom.meeting_instances"
            f" WHERE account_id = $1 AND uuid IN ({done.replace('?', '$1')}) GROUP BY 1"
        ),
        webinar_instances=per_day(
            "SELECT start_time::DATE, count(*) FROM zoom.webinar_instances w WHERE account_id = ? GROUP BY 1"
        ),
        webinars=int(webinars[0]) if webinars else 0,
    )
