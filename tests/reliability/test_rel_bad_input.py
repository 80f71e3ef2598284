"""Bad input: wrong types, missing or null identity fields, nested values, non-objects, huge strings,
unicode edge cases, malformed JSON bodies and schema drift never crash a sync. Offending rows land in
``_etl.rejects`` with their payload, the exit code is 3 (partial), and nothing else is lost.

The simulator spoils list items by content (``etl.simulator.rest.mangle``), so the spoiled run and the
clean reference differ exactly in those items; every stream is forced to REST, where Zoom is loose with
types (a GraphQL server checks values against its schema). Only leaf endpoints are spoiled (their items
spawn no further requests), so a rejected item cannot take other rows with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from conftest import References, sync_here
from reliability_kit import open_read_only, table_diff

from etl.contracts import load_contracts
from etl.simulator.rest.mangle import ACCEPTABLE, HUGE, KINDS, UNICODE
from etl.simulator.server import RunningSimulator

# Leaf endpoints and the table their items become.
SPOILED = {
    "/report/meetings/{meetingId}/participants": "meeting_participants",
    "/report/webinars/{webinarId}/participants": "webinar_participants",
    "/report/activities": "sign_in_activity",
    "/users/{userId}/meetings": "meetings",
}


def _key_count(conn: duckdb.DuckDBPyConnection, table: str, left: str, right: str) -> int:
    """Rows of ``left`` whose primary key is absent from ``right``."""
    key = ", ".join(f'"{k}"' for k in ("account_id", *load_contracts()[table].key))
    return int(
        conn.execute(
            f"SELECT count(*) FROM (SELECT {key} FROM {left}.zoom.{table}"
            f" EXCEPT SELECT {key} FROM {right}.zoom.{table})"
        ).fetchone()[0]  # type: ignore[index]
    )


@pytest.mark.slow
def test_spoiled_records_are_quarantined_and_nothing_else_is_lost(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    kinds = [k for k in KINDS if k != "not_object"]  # see test_non_object_records_are_quarantined
    faults = {
        "bad_record_rate": 0.12,
        "bad_record_endpoints": list(SPOILED),
        "bad_record_kinds": kinds,
        "malformed_rate": 0.05,
    }
    sim = fresh_sim(faults=faults)
    warehouse = tmp_path / "zoom.duckdb"
    result = sync_here(sim, warehouse, source="rest")
    mangled = sim.app.faults.mangled
    served = Counter(str(m["kind"]) for m in mangled)
    assert (result.status, result.exit_code) == ("partial", 3), (result.as_dict(), served)
    assert set(served) == set(kinds), served  # every kind of spoilage was served at least once
    assert sim.stats()["faults_injected"]["malformed"] > 0  # and malformed bodies were retried

    # Tables no spoiled endpoint feeds are identical to the clean run.
    diff = table_diff(warehouse, references.rest_full)
    assert set(diff) <= {*SPOILED.values(), "meetings_history"}, diff

    conn = duckdb.connect()
    conn.execute(f"ATTACH '{warehouse}' AS b (READ_ONLY)")
    conn.execute(f"ATTACH '{references.rest_full}' AS r (READ_ONLY)")
    rejects = conn.execute("SELECT table_name, reason, payload FROM b._etl.rejects").fetchall()
    sent = {orjson.dumps(m["item"], option=orjson.OPT_SORT_KEYS) for m in mangled}
    for table, reason, payload in rejects:
        # Every reject is a spoiled item, kept whole, with a reason.
        assert table in SPOILED.values() and reason, (table, reason)
        assert orjson.dumps(orjson.loads(payload), option=orjson.OPT_SORT_KEYS) in sent, payload
    for endpoint, table in SPOILED.items():
        spoiled = [m for m in mangled if m["endpoint"] == endpoint]
        rejected = {p for t, _, p in rejects if t == table}
        lost = _key_count(conn, table, "r", "b")  # clean rows missing from the spoiled run
        invented = _key_count(conn, table, "b", "r")  # rows with keys the clean run never had
        changed = [m for m in spoiled if m["kind"] in ACCEPTABLE]
        # A row is missing only because its item was rejected; a kept row changed only if it was spoiled.
        assert lost == len(rejected), (table, lost, len(rejected))
        assert invented <= len([m for m in spoiled if m["kind"] not in ACCEPTABLE]), (table, invented)
        differing = conn.execute(
            f"SELECT count(*) FROM (SELECT * EXCLUDE (_run_id, _synced_at) FROM b.zoom.{table}"
            f" EXCEPT ALL SELECT * EXCLUDE (_run_id, _synced_at) FROM r.zoom.{table})"
        ).fetchone()[0]  # type: ignore[index]
        assert differing <= len(spoiled), (table, differing, len(spoiled))
        for m in changed:  # huge strings, unicode and nulls in optional fields are kept as sent
            value = _kept_value(m)
            column = str(m["field"])
            found = conn.execute(
                f'SELECT count(*) FROM b.zoom.{table} WHERE "{column}" IS NOT DISTINCT FROM ?', [value]
            ).fetchone()[0]  # type: ignore[index]
            assert found >= 1, (table, m["kind"], column)
    conn.close()


def _kept_value(m: dict[str, Any]) -> str | None:
    return {"huge_string": HUGE, "unicode": UNICODE, "null_optional": None}[str(m["kind"])]


@pytest.mark.slow
def test_schema_drift_adds_columns_records_them_and_loses_nothing(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    sim = fresh_sim(faults={"drift": True})
    warehouse = tmp_path / "zoom.duckdb"
    result = sync_here(sim, warehouse, source="rest")
    assert result.status in ("ok", "partial") and result.exit_code in (0, 3), result.as_dict()
    with open_read_only(warehouse) as conn:
        changes = conn.execute("SELECT table_name, column_name, mode FROM _etl.schema_changes").fetchall()
        assert ("users", "data_region", "evolve") in changes, changes
        columns = {r[0] for r in conn.execute("DESCRIBE zoom.users").fetchall()}
        assert {"data_region", "internal_tags"} <= columns
        assert conn.execute("SELECT count(*) FROM zoom.users WHERE data_region = 'US'").fetchone()[0] > 0  # type: ignore[index]
        rows = conn.execute("SELECT count(*) FROM zoom.meeting_participants").fetchone()[0]  # type: ignore[index]
    with open_read_only(references.rest_full) as conn:
        assert rows == conn.execute("SELECT count(*) FROM zoom.meeting_participants").fetchone()[0]  # type: ignore[index]


@pytest.mark.slow
def test_non_object_records_are_quarantined_not_dropped(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    endpoint = "/report/activities"
    faults = {"bad_record_rate": 0.05, "bad_record_endpoints": [endpoint], "bad_record_kinds": ["not_object"]}
    sim = fresh_sim(faults=faults)
    warehouse = tmp_path / "zoom.duckdb"
    result = sync_here(sim, warehouse, source="rest")
    sent = len(sim.app.faults.mangled)
    assert sent > 0
    with open_read_only(warehouse) as conn:
        rejected = conn.execute(
            "SELECT count(*) FROM _etl.rejects WHERE reason = 'record is not a JSON object'"
        ).fetchone()[0]  # type: ignore[index]
    assert (result.exit_code, rejected) == (3, sent), result.as_dict()
