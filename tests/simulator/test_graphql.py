"""The simulator's GraphQL executor, called directly (no HTTP) on a generated ``tiny`` account.

Pagination shape and cursors, nesting, validation errors, exact 64-bit ids, per-field rate-limit charging
(root refused -> 429, nested refused -> partial data), injected partial errors and drift, visibility by the
simulated clock, and the fast executor path against graphql-core's stock executor.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from etl.simulator.clock import REFERENCE_EPOCH
from etl.simulator.generate import generate
from etl.simulator.graphql import GraphQLContext, GraphQLEndpoint
from etl.simulator.graphql_items import MAX_FIRST, page_bounds
from etl.simulator.model import Account, MeetingInstance

QUERIES = Path(__file__).resolve().parents[2] / "queries"


class Ledger:
    """A fake ``charge``: records every (category, units) and allows the first ``budget`` per category."""

    def __init__(self, budget: dict[str, int] | None = None) -> None:
        self.calls: list[str] = []
        self.budget = budget

    def __call__(self, category: str, units: int) -> bool:
        assert units == 1
        self.calls.append(category)
        if self.budget is None:
            return True
        return self.calls.count(category) <= self.budget.get(category, 0)


@pytest.fixture(scope="module")
def account() -> Account:
    return generate("tiny", 42, epoch=REFERENCE_EPOCH)


@pytest.fixture(scope="module")
def endpoint(account: Account) -> GraphQLEndpoint:
    return GraphQLEndpoint(account)


def query(name: str) -> str:
    return (QUERIES / f"{name}.graphql").read_text(encoding="utf-8")


def run(
    endpoint: GraphQLEndpoint,
    text: str,
    variables: dict[str, Any] | None = None,
    *,
    now: datetime | None = None,
    charge: Callable[[str, int], bool] | None = None,
    **knobs: Any,
) -> tuple[int, dict[str, Any]]:
    ctx = GraphQLContext(
        now=now or endpoint.account.epoch, charge=charge or Ledger(), rng=random.Random(1), **knobs
    )
    return endpoint.execute({"query": text, "variables": variables or {}}, ctx)


def ok(endpoint: GraphQLEndpoint, text: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
    status, body = run(endpoint, text, variables, **kw)
    assert status == 200 and "errors" not in body, body
    return body["data"]


def host_with_most_meetings(account: Account) -> str:
    now = account.epoch
    return max(account.users(now), key=lambda u: len(account.scheduled_meetings(u.id, now))).id


# ---- pagination -------------------------------------------------------------------------------------


def test_cursor_pagination_returns_each_user_once_and_ends_with_empty_cursor(
    endpoint: GraphQLEndpoint, account: Account
) -> None:
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        conn = ok(endpoint, query("users"), {"first": 2, "after": after})["users"]
        assert 0 < len(conn["edges"]) <= 2
        seen += [u["id"] for u in conn["edges"]]
        pages += 1
        after = conn["pageInfo"]["cursor"]
        if after == "":
            break
    expected = [u.id for u in account.users(account.epoch)]
    assert seen == expected and len(set(seen)) == len(seen)
    assert pages == -(-len(expected) // 2)


def test_a_cursor_from_another_listing_is_refused(endpoint: GraphQLEndpoint) -> None:
    cursor = ok(endpoint, query("users"), {"first": 1})["users"]["pageInfo"]["cursor"]
    host = host_with_most_meetings(endpoint.account)
    status, body = run(endpoint, query("meetings"), {"first": 1, "userId": host, "after": cursor})
    assert status == 200 and body["data"] == {"meetings": None}
    [err] = body["errors"]
    assert err["path"] == ["meetings"] and err["extensions"]["code"] == "BAD_USER_INPUT"


def test_page_size_defaults_to_30_caps_at_300_and_must_be_positive() -> None:
    assert page_bounds({}, "fp") == (0, 30)
    assert page_bounds({"first": 10_000}, "fp") == (0, MAX_FIRST)
    with pytest.raises(Exception, match="positive"):
        page_bounds({"first": 0}, "fp")


# ---- nesting ----------------------------------------------------------------------------------------


def test_users_with_nested_meetings_match_separate_queries_and_cost_the_same(
    endpoint: GraphQLEndpoint, account: Account
) -> None:
    ledger = Ledger()
    users = ok(endpoint, query("users_with_meetings"), {"first": 300}, charge=ledger)["users"]["edges"]
    assert len(users) == len(account.users(account.epoch))
    assert ledger.calls == ["medium"] * (1 + len(users))  # the users page + one listing per user
    assert any(u["meetings"]["edges"] for u in users)
    for u in users:
        alone = ok(endpoint, query("meetings"), {"first": 300, "userId": u["id"]})["meetings"]
        assert u["meetings"] == alone


NESTED_ONE_MEETING = """query($first: Int!) {
  users(first: $first) {
    edges { id meetings(meetingType: SCHEDULED, first: 1) { edges { id } pageInfo { cursor } } }
    pageInfo { cursor }
  }
}"""


def test_a_nested_cursor_continues_on_the_root_field(endpoint: GraphQLEndpoint, account: Account) -> None:
    host = host_with_most_meetings(account)
    users = ok(endpoint, NESTED_ONE_MEETING, {"first": 300})["users"]["edges"]
    page = next(u["meetings"] for u in users if u["id"] == host)
    ids, after = [m["id"] for m in page["edges"]], page["pageInfo"]["cursor"]
    assert len(ids) == 1 and after != ""
    while after:
        page = ok(endpoint, query("meetings"), {"first": 2, "userId": host, "after": after})["meetings"]
        ids += [m["id"] for m in page["edges"]]
        after = page["pageInfo"]["cursor"]
    assert ids == [m.id for m in account.scheduled_meetings(host, account.epoch)]


# ---- validation and ids -----------------------------------------------------------------------------


def test_an_unknown_field_is_a_validation_error_without_data(endpoint: GraphQLEndpoint) -> None:
    ledger = Ledger()
    status, body = run(endpoint, "{ users(first: 1) { edges { id nope } } }", charge=ledger)
    assert status == 200 and "data" not in body
    [err] = body["errors"]
    assert err["message"].startswith("Cannot query field 'nope' on type 'User'.")
    assert err["locations"] == [{"line": 1, "column": 32}]
    assert ledger.calls == []  # nothing executed, nothing charged


def test_syntax_errors_and_malformed_bodies(endpoint: GraphQLEndpoint) -> None:
    status, body = run(endpoint, "{ users(first: 1) { edges { id }")
    assert status == 200 and "data" not in body and body["errors"][0]["message"].startswith("Syntax Error")
    ctx = GraphQLContext(now=endpoint.account.epoch, charge=Ledger())
    assert endpoint.execute({"variables": {}}, ctx)[0] == 400
    assert endpoint.execute({"query": "{ users { edges { id } } }", "variables": [1]}, ctx)[0] == 400


def test_missing_required_variable_is_an_error_without_data(endpoint: GraphQLEndpoint) -> None:
    status, body = run(endpoint, query("meetings"), {"first": 5})
    assert status == 200 and "data" not in body
    assert "$userId" in body["errors"][0]["message"]


def test_meeting_ids_come_back_as_exact_64_bit_numbers(endpoint: GraphQLEndpoint, account: Account) -> None:
    host = host_with_most_meetings(account)
    edges = ok(endpoint, query("meetings"), {"first": 300, "userId": host})["meetings"]["edges"]
    expected = [m.id for m in account.scheduled_meetings(host, account.epoch)]
    assert [m["id"] for m in edges] == expected
    assert any(i > 2**31 for i in expected)
    assert all(type(m["id"]) is int for m in edges)
    assert json.dumps(edges[0]["id"]) == str(expected[0])


# ---- rate-limit charging ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "variables", "expected"),
    [
        ("users", {"first": 5}, ["medium"]),
        ("meetings", {"first": 5, "userId": "HOST"}, ["medium"]),
        ("meeting_instances", {"first": 5, "userId": "HOST", "from": "2026-10-05"}, ["heavy"]),
        ("recordings", {"first": 5, "userId": "HOST", "from": "2026-10-05"}, ["light", "medium"]),
        ("daily_usage", {"first": 31, "year": 2026, "month": 10}, ["heavy"]),
    ],
)
def test_each_field_costs_its_rest_equivalent(
    endpoint: GraphQLEndpoint, account: Account, name: str, variables: dict[str, Any], expected: list[str]
) -> None:
    variables = {k: host_with_most_meetings(account) if v == "HOST" else v for k, v in variables.items()}
    ledger = Ledger()
    ok(endpoint, query(name), variables, charge=ledger)
    assert ledger.calls == expected


def test_nested_participants_cost_one_heavy_call_per_meeting(
    endpoint: GraphQLEndpoint, account: Account
) -> None:
    host = host_with_most_meetings(account)
    text = """query($userId: String!) {
      meetings(userId: $userId, meetingType: PREVIOUS_MEETINGS, from: "2026-10-05", first: 300) {
        edges { uuid participants(first: 300) { edges { name joinTime } pageInfo { cursor } } }
      }
    }"""
    ledger = Ledger()
    edges = ok(endpoint, text, {"userId": host}, charge=ledger)["meetings"]["edges"]
    assert edges and ledger.calls == ["heavy"] * (1 + len(edges))
    for m in edges[:3]:
        report = ok(endpoint, query("meeting_participants"), {"first": 300, "meetingId": m["uuid"]})
        rows = report["meetingParticipantReports"]["edges"]
        assert [(p["name"], p["joinTime"]) for p in rows] == [
            (p["name"], p["joinTime"]) for p in m["participants"]["edges"]
        ]


def test_a_refused_root_field_answers_429(endpoint: GraphQLEndpoint) -> None:
    status, body = run(endpoint, query("users"), {"first": 5}, charge=Ledger(budget={}))
    assert status == 429
    assert body == {
        "code": 429,
        "message": "You have reached the maximum per-second rate limit for this API. Try again later.",
    }


def test_a_refused_nested_field_is_null_with_an_error_and_runs_no_children(
    endpoint: GraphQLEndpoint, account: Account
) -> None:
    ledger = Ledger(budget={"medium": 2})  # the users page and the first user's meetings
    status, body = run(endpoint, query("users_with_meetings"), {"first": 300}, charge=ledger)
    assert status == 200
    users = body["data"]["users"]["edges"]
    assert len(users) == len(account.users(account.epoch)) and all(u["id"] for u in users)
    assert users[0]["meetings"] is not None
    assert all(u["meetings"] is None for u in users[1:])
    assert [e["path"] for e in body["errors"]] == [
        ["users", "edges", i, "meetings"] for i in range(1, len(users))
    ]
    assert {e["extensions"]["code"] for e in body["errors"]} == {"RATE_LIMITED"}
    assert all(e["locations"] for e in body["errors"])

    ledger = Ledger(budget={"light": 0, "medium": 10})  # user refused: its recordings never run
    status, body = run(endpoint, query("recordings"), {"first": 5, "userId": users[0]["id"]}, charge=ledger)
    assert status == 429 and ledger.calls == ["light"]


# ---- faults -----------------------------------------------------------------------------------------


def test_partial_error_rate_one_gives_one_error_per_item_and_keeps_the_rest(
    endpoint: GraphQLEndpoint, account: Account
) -> None:
    status, body = run(endpoint, query("users"), {"first": 300}, partial_error_rate=1.0)
    assert status == 200
    users = body["data"]["users"]["edges"]
    assert [u["id"] for u in users] == [u.id for u in account.users(account.epoch)]
    assert len(body["errors"]) == len(users)
    for i, err in enumerate(body["errors"]):
        assert err["extensions"]["code"] == "INTERNAL_ERROR"
        assert err["path"][:3] == ["users", "edges", i]
        field = err["path"][3]
        assert users[i][field] is None
        assert sum(v is not None for v in users[i].values()) >= 10  # the other fields are intact


def test_drift_nulls_some_nullable_fields_never_ids(endpoint: GraphQLEndpoint, account: Account) -> None:
    clean = ok(endpoint, query("users"), {"first": 300})["users"]["edges"]
    drifted = ok(endpoint, query("users"), {"first": 300}, drift=True)["users"]["edges"]
    assert [u["id"] for u in drifted] == [u["id"] for u in clean]
    nulled = [
        (i, k) for i, u in enumerate(drifted) for k, v in u.items() if v is None and clean[i][k] is not None
    ]
    assert nulled
    assert all(drifted[i][k] == v for i, u in enumerate(clean) for k, v in u.items() if (i, k) not in nulled)


# ---- visibility -------------------------------------------------------------------------------------


def test_advancing_now_reveals_more_previous_meetings(endpoint: GraphQLEndpoint, account: Account) -> None:
    def instances(now: datetime) -> int:
        total = 0
        for u in account.users(now):
            variables = {"userId": u.id, "from": "2026-10-20", "to": "2026-11-19", "first": 300}
            total += len(ok(endpoint, query("meeting_instances"), variables, now=now)["meetings"]["edges"])
        return total

    before = instances(account.epoch)
    after = instances(account.epoch + timedelta(days=7))
    assert 0 < before < after


def test_participant_report_by_uuid_and_by_meeting_id(endpoint: GraphQLEndpoint, account: Account) -> None:
    now = account.epoch
    reported = account.instances_in_window(now - timedelta(days=30), now, now, reported_only=True)

    def latest_is_reported(i: MeetingInstance) -> bool:
        # Queried by meeting id, Zoom reports on the latest instance: it must have its report already.
        latest = max(account.instances_of_meeting(i.id, now), key=lambda x: x.start_time)
        return latest.report_ready_at <= now

    candidates = [i for i in reported if latest_is_reported(i)]
    inst = next((i for i in candidates if i.uuid.startswith("/") or "//" in i.uuid), candidates[-1])
    by_uuid = ok(endpoint, query("meeting_participants"), {"first": 300, "meetingId": inst.uuid})
    expected = [(p.user_id, p.duration) for p in account.participants(inst, now)]
    assert expected
    assert [(p["userId"], p["duration"]) for p in by_uuid["meetingParticipantReports"]["edges"]] == expected

    latest = max(account.instances_of_meeting(inst.id, now), key=lambda i: i.start_time)
    by_id = ok(endpoint, query("meeting_participants"), {"first": 300, "meetingId": str(inst.id)})
    latest_rows = [(p.user_id, p.duration) for p in account.participants(latest, now)]
    assert [(p["userId"], p["duration"]) for p in by_id["meetingParticipantReports"]["edges"]] == latest_rows

    _, body = run(endpoint, query("meeting_participants"), {"first": 5, "meetingId": "nope=="})
    assert body["data"] == {"meetingParticipantReports": None}
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# ---- the fast path ----------------------------------------------------------------------------------


def test_fast_executor_answers_exactly_like_graphql_core(account: Account) -> None:
    fast, stock = GraphQLEndpoint(account), GraphQLEndpoint(account, fast=False)
    host = host_with_most_meetings(account)
    cases = {
        "users": {"first": 300},
        "users_with_meetings": {"first": 300},
        "meetings": {"first": 300, "userId": host},
        "meeting_instances": {"first": 300, "userId": host, "from": "2026-10-05"},
        "recordings": {"first": 300, "userId": host, "from": "2026-10-05"},
        "daily_usage": {"first": 31, "year": 2026, "month": 10},
    }
    for name, variables in cases.items():
        for knobs in ({}, {"partial_error_rate": 0.3}, {"drift": True}):
            assert run(fast, query(name), variables, **knobs) == run(
                stock, query(name), variables, **knobs
            ), name


def test_graphql_applies_the_rest_window_rules(endpoint: GraphQLEndpoint, account: Account) -> None:
    """Zoom documents no window rules for GraphQL; the simulator assumes REST's (one month per window, six
    months back for reports, a year for participants), so a client passing here is safe under either."""
    host = host_with_most_meetings(account)
    cases = {
        "meeting_instances": {"first": 5, "userId": host, "from": "2026-09-01", "to": "2026-10-15"},
        "recordings": {"first": 5, "userId": host, "from": "2026-09-01", "to": "2026-10-15"},
    }
    for name, variables in cases.items():
        status, body = run(endpoint, query(name), variables)
        assert status == 200 and body["errors"][0]["message"] == "The date range must be within one month."
    old = {"first": 5, "userId": host, "from": "2026-04-01", "to": "2026-04-20"}
    status, body = run(endpoint, query("meeting_instances"), old)
    assert body["errors"][0]["message"] == "Only provide report in recent 6 months."
    status, body = run(endpoint, query("daily_usage"), {"first": 31, "year": 2026, "month": 4})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    now = account.epoch
    inst = account.instances_in_window(now - timedelta(days=20), now, now, reported_only=True)[0]
    later = account.epoch + timedelta(days=370)
    status, body = run(
        endpoint, query("meeting_participants"), {"first": 5, "meetingId": inst.uuid}, now=later
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
