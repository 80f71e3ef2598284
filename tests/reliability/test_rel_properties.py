"""Property-based reliability checks (hypothesis), no HTTP:

- normalization never raises on any JSON-shaped input, and accounts for every record: each one is loaded,
  rejected with a reason, or deduplicated by key; nothing vanishes;
- huge and unicode strings survive normalization unchanged;
- a token listing whose page tokens expire at random moments either yields every record of the listing
  (restarting as Zoom requires) or raises: it never ends early without saying so.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from etl.contracts import load_contracts
from etl.errors import ApiError
from etl.normalize import normalize
from etl.records import Page
from etl.sources.paginate import MAX_RESTARTS, token_pages

CONTRACTS = load_contracts()
T0 = datetime(2026, 11, 4, 15, tzinfo=UTC)

# Inputs that crash normalize today (reported to the lead): an integer beyond int64 (orjson decodes up
# to 2**64 - 1, so an API can send one); a new field whose name Polars reads as a pattern ("*",
# "^...$"); a new field named like normalize's own columns (_pos, _batch, _account_id).
CRASHERS = {
    "id beyond int64": [{"id": 2**63}],
    "duration beyond int64": [{"user_id": "1", "join_time": "2026-10-15T15:40:28Z", "duration": 2**64 - 1}],
    "field named *": [{"*": None}],
    "field named like a regex": [{"^a.*$": 1}],
    "field named _pos": [{"_pos": 1}],
    "field named _account_id": [{"_account_id": "x", "user_id": "1", "join_time": "2026-10-15T15:40:28Z"}],
}


def _plain(name: str) -> bool:
    return not name.startswith("_") and not set(name) & set("*^$")


field_names = st.text(max_size=8).filter(_plain)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),  # beyond int64: see CRASHERS
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["", "2026-10-15T15:40:28Z", "10/15/2026 15:40", "55:01", "1:02:03", "abc", "\x00"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(field_names, inner, max_size=3),
    max_leaves=6,
)
PARTICIPANT_FIELDS = [
    "id",
    "user_id",
    "participant_user_id",
    "name",
    "user_email",
    "join_time",
    "leave_time",
    "duration",
    "status",
    "failover",
    "customer_key",
]
records = st.one_of(
    st.fixed_dictionaries({}, optional={f: json_values for f in PARTICIPANT_FIELDS}),
    st.dictionaries(field_names, json_values, max_size=4),  # unknown fields: drift
    json_values,  # not even an object
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records, max_size=12))
@example([[None], {"id": None}])  # a list among the records once made Polars read them as rows
def test_normalize_accounts_for_every_record(batch: list[Any]) -> None:
    page = Page("meeting_participants", "acct", "rest", "GET /x", T0, batch, {"meeting_uuid": "m/1=="})
    out = normalize([page], CONTRACTS, "run-1")
    table = "meeting_participants"
    loaded = len(out.frames.get(table, ()))
    rejected = out.rejected_rows.get(table, 0)
    duplicates = out.duplicates.get(table, 0)
    assert loaded + rejected + duplicates == len(batch), (loaded, rejected, duplicates)
    if rejected:
        reasons = out.rejects.filter(out.rejects["table_name"] == table)["reason"].to_list()
        assert all(reasons) and len(reasons) >= rejected


@settings(max_examples=40, deadline=None)
@given(
    st.text(min_size=1, max_size=200_000).filter(lambda s: s.strip() != "")
    | st.sampled_from(["\u202e\U0001f469\u200d\U0001f4bb\x00", "Z" * 100_000])
)
def test_strings_survive_normalization_unchanged(text: str) -> None:
    record = {"user_id": "7", "name": "n", "join_time": "2026-10-15T15:40:28Z", "customer_key": text}
    page = Page("meeting_participants", "acct", "rest", "GET /x", T0, [record], {"meeting_uuid": "m"})
    frame = normalize([page], CONTRACTS, "run-1").frames["meeting_participants"]
    assert frame["customer_key"].to_list() == [text]


class Expired(ApiError):
    pass


def _listing(pages: int, expire_at: set[int]) -> Iterator[Any]:
    """``fetch(token)`` of a listing of ``pages`` pages whose follow-up requests number ``expire_at``
    (counted over the whole run) answer Zoom's expired-token error (code 300)."""
    calls = {"n": 0}

    def fetch(token: str | None) -> dict[str, Any]:
        calls["n"] += 1
        index = 0 if token is None else int(token)
        if token is not None and calls["n"] in expire_at:
            raise ApiError("Invalid next_page_token or the token has expired.", status=400, code=300)
        following = str(index + 1) if index + 1 < pages else ""
        return {"next_page_token": following, "items": [index]}

    return fetch  # type: ignore[return-value]


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=1, max_value=12), st.sets(st.integers(min_value=1, max_value=80), max_size=6))
def test_expiring_page_tokens_never_end_a_listing_silently(pages: int, expire_at: set[int]) -> None:
    fetch = _listing(pages, expire_at)
    seen: list[int] = []
    try:
        for body in token_pages(fetch, where="test"):  # type: ignore[arg-type]
            seen.extend(body["items"])
    except ApiError as exc:
        assert exc.code == 300  # gave up after MAX_RESTARTS restarts: said so
        return
    assert sorted(set(seen)) == list(range(pages))  # every page, after any restarts
    assert seen[-1] == pages - 1


def test_restarts_are_bounded() -> None:
    fetch = _listing(3, set(range(1, 1000)))
    with pytest.raises(ApiError):
        list(token_pages(fetch, where="test"))  # type: ignore[arg-type]
    assert MAX_RESTARTS >= 1


@pytest.mark.parametrize("batch", CRASHERS.values(), ids=CRASHERS.keys())
def test_normalize_rejects_instead_of_crashing_on(batch: list[Any]) -> None:
    page = Page("meeting_participants", "acct", "rest", "GET /x", T0, batch, {"meeting_uuid": "m"})
    out = normalize([page], CONTRACTS, "run-1")
    table = "meeting_participants"
    counted = len(out.frames.get(table, ())) + out.rejected_rows.get(table, 0) + out.duplicates.get(table, 0)
    assert counted == len(batch)
