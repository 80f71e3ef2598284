"""Records → text frame (each scalar spelled as its JSON text, nested values reported), and the
participant key against its rule in plain Python."""

from __future__ import annotations

import hashlib

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.normalize.frame import text_frame
from etl.normalize.keys import participant_key

IDS = st.one_of(st.none(), st.just(""), st.text(alphabet="abc123", min_size=1, max_size=4))
NAMES = st.one_of(st.none(), st.just(""), st.text(max_size=6))


def _reference_key(stable: str | None, meeting: str | None, name: str | None, email: str | None) -> str:
    """The participant key rule in plain Python: stable id, else per-meeting id, else the guest hash."""
    if stable:
        return stable
    if meeting:
        return "u:" + meeting
    text = f"{name or ''}\x1f{email or ''}".encode()
    return "h:" + hashlib.blake2b(text, digest_size=8).hexdigest()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(IDS, IDS, NAMES, NAMES), max_size=25))
def test_participant_keys_follow_the_rule_row_by_row(rows: list[tuple[str | None, ...]]) -> None:
    columns = [pl.Series([r[i] for r in rows], dtype=pl.String) for i in range(4)]
    assert participant_key(*columns).to_list() == [_reference_key(*r) for r in rows]


def test_a_boolean_among_integers_keeps_its_own_spelling() -> None:
    frame, _ = text_frame([{"a": 1}, {"a": True}, {"a": None}], ["a"])
    assert frame.get_column("a").to_list() == ["1", "true", None]


def test_a_nested_value_in_a_scalar_field_is_reported_not_stringified() -> None:
    frame, bad = text_frame([{"a": "x"}, {"a": {"k": 1}}], ["a"])
    assert frame.get_column("a").to_list() == ["x", None]
    assert [(b.row, b.field, b.reason) for b in bad] == [(1, "a", "nested value where a scalar is expected")]
