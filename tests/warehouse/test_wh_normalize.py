"""Normalization: participant keys, duplicates, alternatives, rejects, schema drift, child tables."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest

from etl.contracts import Contract, load_contracts
from etl.normalize import merge, normalize
from etl.records import Page, Unreadable

P = "meeting_participants"
UUID = "abc/+def=="


def seg(name: str, join: str, **extra: Any) -> dict[str, Any]:
    record = {
        "id": "",
        "user_id": "",
        "participant_user_id": "",
        "name": name,
        "user_email": "",
        "join_time": join,
        "leave_time": join,
        "duration": 60,
        "status": "in_meeting",
    }
    record.update(extra)
    return record


@pytest.fixture
def contracts() -> dict[str, Contract]:
    return load_contracts()


def test_guests_and_rejoins_never_collapse(
    contracts: dict[str, Contract], make_page: Callable[..., Page]
) -> None:
    records = [
        seg("iPhone", "2024-03-01T10:00:00Z"),  # guest A
        seg("iPhone", "2024-03-01T10:05:00Z"),  # guest B, same name, another time
        seg("iPhone", "2024-03-01T10:30:00Z"),  # guest A rejoins
        seg("Ann", "2024-03-01T10:00:00Z", participant_user_id="P1"),
        seg("Ann", "2024-03-01T10:40:00Z", participant_user_id="P1"),  # rejoin, same stable id
        seg("Bob", "2024-03-01T10:00:00Z", user_id="16778240"),
        seg("Bob", "2024-03-01T10:00:00Z", user_id="16778241"),  # same time, other per-meeting id
    ]
    frame = normalize([make_page(P, records, context={"meeting_uuid": UUID})], contracts, "r1").frames[P]
    assert len(frame) == 7
    keys = frame.get_column("participant_key").to_list()
    assert keys[3] == keys[4] == "P1"
    assert keys[5:] == ["u:16778240", "u:16778241"]
    assert keys[0] == keys[1] == keys[2] and keys[0].startswith("h:")
    assert frame.get_column("meeting_uuid").unique().to_list() == [UUID]
    assert frame.select(pl.struct("participant_key", "join_time").n_unique()).item() == 7


def test_guest_hash_is_stable_and_depends_on_name_and_email(
    contracts: dict[str, Contract], make_page: Callable[..., Page]
) -> None:
    records = [
        seg("Guest", "2024-03-01T10:00:00Z"),
        seg("Guest", "2024-03-01T10:00:00Z", user_email="g@x.org"),
    ]
    keys = normalize([make_page(P, records, context={"meeting_uuid": UUID})], contracts, "r").frames[P][
        "participant_key"
    ]
    again = normalize([make_page(P, records, context={"meeting_uuid": UUID})], contracts, "r").frames[P][
        "participant_key"
    ]
    assert keys.to_list() == again.to_list()
    assert keys[0] != keys[1]
    assert keys[0] == "h:" + __import__("hashlib").blake2b(b"Guest\x1f", digest_size=8).hexdigest()


def test_duplicates_latest_wins_by_fetched_at_then_position(
    contracts: dict[str, Contract], make_page: Callable[..., Page]
) -> None:
    newer = make_page("users", [{"id": "u1", "dept": "newer"}], at=5)
    older = make_page(
        "users",
        [{"id": "u1", "dept": "older"}, {"id": "u2", "dept": "first"}, {"id": "u2", "dept": "second"}],
        at=1,
    )
    result = normalize([newer, older], contracts, "r1")
    frame = result.frames["users"].sort("id")
    assert frame["dept"].to_list() == ["newer", "second"]
    assert result.duplicates["users"] == 2


def test_source_alternatives_context_and_units(
    contracts: dict[str, Contract], make_page: Callable[..., Page]
) -> None:
    report = {
        "uuid": "i1",
        "id": "85746065432",
        "duration": 6,
        "participants_count": 2,
        "start_time": "2024-03-01T10:00:00Z",
        "schedule_time": "12/22/2021 16:20",
        "user_email": "a@x",
    }
    dashboard = {
        "uuid": "i2",
        "id": 93201235621,
        "duration": "1:02:03",
        "participants": 5,
        "email": "b@x",
        "host": "Jill",
        "start_time": "2024-03-01T10:00:00.5Z",
        "has_video": True,
    }
    frame = normalize([make_page("meeting_instances", [report, dashboard])], contracts, "r").frames[
        "meeting_instances"
    ]
    rows = {r["uuid"]: r for r in frame.to_dicts()}
    assert rows["i1"]["id"] == 85746065432 and rows["i2"]["id"] == 93201235621
    assert rows["i1"]["duration"] == 6 and rows["i2"]["duration"] == 62
    assert rows["i1"]["participants_count"] == 2 and rows["i2"]["participants_count"] == 5
    assert rows["i2"]["user_email"] == "b@x" and rows["i2"]["user_name"] == "Jill"
    assert rows["i1"]["schedule_time"] == datetime(2021, 12, 22, 16, 20, tzinfo=UTC)
    assert rows["i2"]["has_video"] is True and rows["i1"]["has_video"] is None
    assert frame.schema["id"] == pl.Int64 and frame.schema["start_time"] == pl.Datetime("us", "UTC")


def test_rejects_carry_table_column_value_reason_and_payload(
    contracts: dict[str, Contract], make_page: Callable[..., Page]
) -> None:
    records = [
        seg("ok", "2024-03-01T10:00:00Z"),
        seg("bad time", "yesterday-ish"),
        seg("no join", "2024-03-01T10:00:00Z", join_time=None),
        seg("bad duration", "2024-03-01T10:00:00Z", duration="ten"),
        seg("nested", "2024-03-01T10:00:00Z", status={"a": 1}),
        "not an object",
    ]
    result = normalize([make_page(P, records, context={"meeting_uuid": UUID})], contracts, "r9")
    assert len(result.frames[P]) == 1
    assert result.rejected_rows[P] == 5
    rejects = {(r["column_name"], r["reason"]): r for r in result.rejects.to_dicts()}
    assert rejects[("join_time", "cannot read as TIMESTAMPTZ")]["value"] == "yesterday-ish"
    assert ("join_time", "missing required value") in rejects
    assert rejects[("duration", "cannot read as INTEGER (seconds)")]["value"] == "ten"
    assert rejects[("status", "nested value where a scalar is expected")]["value"] == '{"a":1}'
    assert any(r["reason"] == "record is not a JSON object" for r in result.rejects.to_dicts())
    bad_time = rejects[("join_time", "cannot read as TIMESTAMPTZ")]
    assert '"name":"bad time"' in bad_time["payload"]
    assert bad_time["table_name"] == P and bad_time["run_id"] == "r9" and bad_time["account_id"] == "acct1"


@pytest.mark.parametrize("mode", ["evolve", "freeze", "discard"])
def test_new_fields_follow_the_drift_mode(
    contracts: dict[str, Contract], make_page: Callable[..., Page], mode: str
) -> None:
    contracts = {**contracts, "users": replace(contracts["users"], drift=mode)}  # type: ignore[arg-type]
    records = [{"id": "u1", "dept": "HR", "cost_center": 42, "badges": ["a"]}, {"id": "u2", "dept": "IT"}]
    result = normalize([make_page("users", records)], contracts, "r1")
    changes = {(c.column, c.column_type, c.mode) for c in result.schema_changes}
    assert changes == {("cost_center", "VARCHAR", mode), ("badges", "JSON", mode)}
    frame = result.frames["users"]
    if mode == "evolve":
        assert frame.sort("id")["cost_center"].to_list() == ["42", None]
        assert frame.sort("id")["badges"].to_list() == ['["a"]', None]
        assert result.contracts["users"].column("badges").evolved
    elif mode == "freeze":
        assert frame["id"].to_list() == ["u2"]
        assert {r["column_name"] for r in result.rejects.to_dicts()} == {"cost_center", "badges"}
    else:
        assert sorted(frame["id"].to_list()) == ["u1", "u2"]
        assert "cost_center" not in frame.columns and not len(result.rejects)


def test_recording_files_come_from_the_nested_array(
    contracts: dict[str, Contract], make_page: Callable[..., Page]
) -> None:
    recording = {
        "uuid": "m/1==",
        "id": 1,
        "type": "1",
        "account_id": "zoom-side",
        "recording_play_passcode": "secret",
        "recording_files": [
            {"id": "f1", "file_size": 7220, "recording_start": "2021-03-18T05:41:36Z"},
            {"id": "f2", "file_type": "CHAT"},
        ],
    }
    result = normalize([make_page("recordings", [recording])], contracts, "r1")
    assert result.frames["recordings"]["account_id"].to_list() == ["acct1"]
    assert "recording_play_passcode" not in result.frames["recordings"].columns
    files = result.frames["recording_files"].sort("id")
    assert files["meeting_uuid"].to_list() == ["m/1==", "m/1=="]
    assert files["file_size"].to_list() == [7220, None]
    assert not result.schema_changes


def test_a_rejected_recordings_files_stay_in_its_reject_not_in_the_files_table(
    contracts: dict[str, Contract], make_page: Callable[..., Page]
) -> None:
    """A file row must name a recording the warehouse holds; Zoom types ``file_size`` as a number."""
    good = {"uuid": "ok==", "id": 1, "recording_files": [{"id": "f1", "file_size": 7220.0}]}
    bad = {"uuid": "bad==", "id": "not-a-number", "recording_files": [{"id": "f2"}]}
    result = normalize([make_page("recordings", [good, bad])], contracts, "r1")
    assert result.frames["recordings"]["meeting_uuid"].to_list() == ["ok=="]
    assert result.frames["recording_files"].select("id", "file_size").rows() == [("f1", 7220)]
    (reject,) = result.rejects.to_dicts()
    assert (reject["table_name"], reject["column_name"]) == ("recordings", "id")
    assert '"id":"f2"' in reject["payload"]


def test_scd2_tables_carry_a_row_hash_that_ignores_volatile_columns(
    contracts: dict[str, Contract], make_page: Callable[..., Page]
) -> None:
    first = normalize(
        [make_page("users", [{"id": "u1", "dept": "HR", "last_login_time": "2024-03-01T10:00:00Z"}])],
        contracts,
        "r",
    )
    later = normalize(
        [make_page("users", [{"id": "u1", "dept": "HR", "last_login_time": "2024-03-05T10:00:00Z"}], at=9)],
        contracts,
        "r",
    )
    moved = normalize(
        [make_page("users", [{"id": "u1", "dept": "IT", "last_login_time": "2024-03-05T10:00:00Z"}])],
        contracts,
        "r",
    )
    assert first.frames["users"]["_row_hash"][0] == later.frames["users"]["_row_hash"][0]
    assert first.frames["users"]["_row_hash"][0] != moved.frames["users"]["_row_hash"][0]


def _sorted(frame: pl.DataFrame, key: tuple[str, ...]) -> pl.DataFrame:
    return frame.select(sorted(frame.columns)).sort(list(key))


def test_a_batch_normalized_in_parts_merges_to_what_one_pass_makes(
    contracts: dict[str, Contract], make_page: Callable[..., Page]
) -> None:
    """Parts (as ``pipeline.Batch`` makes them) + ``merge`` == ``normalize`` of the whole batch: a key
    seen in two parts keeps its latest version, a field new in one part becomes a column for all,
    rejects and duplicates are counted once each."""
    first = [
        make_page(
            P,
            [seg("Ann", "2024-03-01T10:00:00Z", participant_user_id="P1", duration=60)],
            at=1,
            context={"meeting_uuid": UUID},
        ),
        make_page(
            P,
            [seg("Bob", "2024-03-01T10:00:00Z", user_id="7", duration="oops")],
            at=1,
            context={"meeting_uuid": UUID},
        ),
        make_page("users", [{"id": "u1", "email": "a@x.io", "type": 1, "dept": "Ops"}], at=1),
    ]
    second = [
        # the same segment again, fetched later with another duration: the later one wins
        make_page(P, [seg("Ann", "2024-03-01T10:00:00Z", participant_user_id="P1", duration=90,
                          new_field="n")], at=2, context={"meeting_uuid": UUID}),
        make_page(P, [seg("Cy", "2024-03-01T11:00:00Z", user_id="8"),
                      seg("Cy", "2024-03-01T11:00:00Z", user_id="8")], at=2, context={"meeting_uuid": UUID}),
        make_page("users", [{"id": "u1", "email": "a@x.io", "type": 2, "dept": "Ops"}], at=2),
    ]  # fmt: skip
    whole = normalize(first + second, contracts, "r1")
    one = normalize(first, contracts, "r1")
    two = normalize(second, one.contracts, "r1")
    merged = merge([one, two])

    assert set(merged.frames) == set(whole.frames)
    for table, frame in whole.frames.items():
        key = whole.contracts[table].key
        assert _sorted(merged.frames[table], key).equals(_sorted(frame, key)), table
    participants = merged.frames[P].sort("participant_key")
    assert participants.filter(pl.col("participant_key") == "P1")["duration"].to_list() == [90]
    assert "new_field" in participants.columns
    assert merged.duplicates == whole.duplicates and merged.duplicates[P] == 2
    assert merged.rejected_rows == whole.rejected_rows and merged.rejected_rows[P] == 1
    assert merged.rejects.sort("payload").equals(whole.rejects.sort("payload"))
    assert {(c.table, c.column) for c in merged.schema_changes} == {
        (c.table, c.column) for c in whole.schema_changes
    }
    assert len(merged.schema_changes) == len(whole.schema_changes)
    assert merged.frames["users"]["type"].to_list() == [2]


def test_merge_keeps_the_later_fetch_even_when_it_arrived_first(
    contracts: dict[str, Contract], make_page: Callable[..., Page]
) -> None:
    """Concurrent fetches can arrive out of order: latest wins by fetch time, as in one pass."""
    late = make_page(
        P,
        [seg("Ann", "2024-03-01T10:00:00Z", participant_user_id="P1", duration=90)],
        at=5,
        context={"meeting_uuid": UUID},
    )
    early = make_page(
        P,
        [seg("Ann", "2024-03-01T10:00:00Z", participant_user_id="P1", duration=60)],
        at=1,
        context={"meeting_uuid": UUID},
    )
    one = normalize([late], contracts, "r1")
    merged = merge([one, normalize([early], one.contracts, "r1")])
    assert merged.frames[P]["duration"].to_list() == [90]
    assert merged.frames[P].equals(normalize([late, early], contracts, "r1").frames[P])


def test_an_unreadable_record_is_one_reject_with_its_reason_and_payload(
    contracts: dict[str, Contract], make_page: Callable[..., Page]
) -> None:
    """``etl.http.body.screen`` hands on a record no JSON writer can store as an ``Unreadable``: it is
    rejected whole, once, for its reason (not also for the key its empty row lacks); the rest loads."""
    bad = Unreadable('{"id":"u2","first_name":"Ren\ufffd"}', "invalid UTF-8 or a lone surrogate in a string")
    records = [{"id": "u1"}, bad, {"id": "u3"}]
    result = normalize([make_page("users", records)], contracts, "r1")
    assert sorted(result.frames["users"]["id"].to_list()) == ["u1", "u3"]
    assert not result.schema_changes
    (reject,) = result.rejects.to_dicts()
    assert (reject["table_name"], reject["reason"]) == ("users", bad.reason)
    assert reject["payload"] == str(bad) and reject["run_id"] == "r1"
