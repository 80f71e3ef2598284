"""Contracts: every table's contract loads, its DDL creates the table, malformed ones fail clearly."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from etl.contracts import DEFAULT_DIR, load_contracts, table_ddl
from etl.errors import ContractError
from etl.warehouse import Warehouse

TABLES = {
    "users": ("id",),
    "meetings": ("id",),
    "meeting_instances": ("uuid",),
    "meeting_participants": ("meeting_uuid", "participant_key", "join_time"),
    "webinars": ("id",),
    "webinar_instances": ("uuid",),
    "webinar_participants": ("webinar_uuid", "participant_key", "join_time"),
    "webinar_absentees": ("webinar_uuid", "id"),
    "webinar_registrants": ("webinar_id", "id"),
    "recordings": ("meeting_uuid",),
    "recording_files": ("id",),
    "meeting_summaries": ("meeting_uuid",),
    "daily_usage": ("date",),
    "sign_in_activity": ("email", "time", "type"),
    "operation_logs": ("time", "operator", "action", "category_type", "operation_detail"),
    "events": ("id",),
}


def test_every_product_table_has_a_contract_named_after_it() -> None:
    contracts = load_contracts()
    assert set(contracts) == set(TABLES)
    for name, contract in contracts.items():
        assert contract.path == DEFAULT_DIR / f"{name}.toml"
        assert contract.primary_key == TABLES[name]
        assert contract.key[0] == "account_id"
        assert all(c.description for c in contract.columns)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_ddl_creates_table_with_key_and_system_columns(table: str) -> None:
    contract = load_contracts()[table]
    conn = duckdb.connect()
    conn.execute("CREATE SCHEMA zoom")
    for statement in table_ddl(contract):
        conn.execute(statement)
    columns = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ?", [table]
        ).fetchall()
    }
    assert {"account_id", "_run_id", "_synced_at"} <= set(columns)
    assert columns["_synced_at"] == "TIMESTAMP WITH TIME ZONE"
    # The key is enforced by the loader (see test_wh_load's duplicate tests), not by a DuckDB index:
    # its columns are NOT NULL, the table's comment names it, and no PRIMARY KEY index slows loads.
    assert contract.key == ("account_id", *TABLES[table])
    nullable = dict(
        conn.execute(
            "SELECT column_name, is_nullable FROM information_schema.columns WHERE table_name = ?", [table]
        ).fetchall()
    )
    assert all(nullable[k] == "NO" for k in contract.key)
    comment = conn.execute("SELECT comment FROM duckdb_tables() WHERE table_name = ?", [table]).fetchone()
    assert comment is not None and f"Key (enforced by the loader): {', '.join(contract.key)}." in comment[0]
    constraints = conn.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = ? AND constraint_type = 'PRIMARY KEY'",
        [table],
    ).fetchone()
    assert constraints == (0,)
    if contract.history == "scd2":
        history = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [f"{table}_history"]
        ).fetchall()
        assert {"valid_from", "valid_to", "is_current", "_row_hash"} <= {r[0] for r in history}


def test_types_follow_the_warehouse_contract() -> None:
    contracts = load_contracts()
    assert contracts["meetings"].column("id").type == "BIGINT"
    assert contracts["meeting_instances"].column("start_time").type == "TIMESTAMPTZ"
    assert contracts["meeting_instances"].column("duration").unit == "minutes"
    assert contracts["meeting_participants"].column("duration").unit == "seconds"
    assert contracts["meeting_instances"].column("participants_count").sources == (
        "participants_count",
        "participants",
    )
    assert {c.history for c in contracts.values() if c.table in ("users", "meetings", "webinars")} == {"scd2"}


def test_warehouse_open_creates_every_schema(wh: Warehouse) -> None:
    tables = {
        (s, t)
        for s, t in wh.conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
        ).fetchall()
    }
    assert {("zoom", t) for t in TABLES} <= tables
    assert {("zoom", "users_history"), ("_etl", "runs"), ("_etl", "state"), ("_etl", "rejects")} <= tables
    assert {("_etl", "schema_changes"), ("_etl", "done_keys"), ("_etl", "skips"), ("raw", "pages")} <= tables
    macros = {
        r[0]
        for r in wh.conn.execute(
            "SELECT function_name FROM duckdb_functions() WHERE schema_name = 'zoom'"
        ).fetchall()
    }
    assert {"users_as_of", "meetings_as_of", "webinars_as_of"} <= macros


GOOD = """
table = "things"
description = "Things."
primary_key = ["id"]
columns = [
  { name = "id", type = "BIGINT", nullable = false, description = "Id." },
  { name = "at", type = "TIMESTAMPTZ", description = "When." },
]
"""


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("BIGINT", "BIGNUM"), "column 'id'.type"),
        (('primary_key = ["id"]', 'primary_key = ["nope"]'), "primary_key"),
        (('nullable = false, description = "Id."', 'description = "Id."'), "column 'id'"),
        (('description = "When."', 'description = ""'), "column 'at'.description"),
        (('table = "things"', 'table = "other"'), "table"),
        (('primary_key = ["id"]', 'primary_key = ["id"]\ndrift = "loose"'), "drift"),
        (('primary_key = ["id"]', 'primary_key = ["id"]\nhistory = "scd9"'), "history"),
        (('type = "TIMESTAMPTZ"', 'type = "TIMESTAMPTZ", unit = "seconds"'), "column 'at'.unit"),
        (("columns = [", "columns = [[["), "not valid TOML"),
    ],
)
def test_malformed_contract_names_file_and_field(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    path = tmp_path / "things.toml"
    path.write_text(GOOD.replace(*edit), encoding="utf-8")
    with pytest.raises(ContractError) as info:
        load_contracts(tmp_path)
    assert "things.toml" in str(info.value)
    assert message in str(info.value)


def test_good_contract_loads(tmp_path: Path) -> None:
    (tmp_path / "things.toml").write_text(GOOD, encoding="utf-8")
    contract = load_contracts(tmp_path)["things"]
    assert contract.stream == "things" and contract.drift == "evolve" and contract.history == "none"
