"""Records → text frame (the column path spells every value exactly as the row path does), and the
participant key against its rule in plain Python."""

from __future__ import annotations

import hashlib
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.normalize.frame import SLICE_ROWS, _by_columns, text_frame
from etl.normalize.keys import participant_key

FIELDS = ["a", "b", "c"]
SCALARS = st.one_of(
    st.none(),
    st.text(max_size=5),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.integers(min_value=2**63, max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
)
# One JSON type per field (the column path) or any mix (the row path), with fields sometimes absent.
UNIFORM = st.sampled_from(
    [st.none(), st.text(max_size=5), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1)]
)


def _reference(records: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(records, schema=dict.fromkeys(FIELDS, pl.String), strict=False)


@st.composite
def uniform_records(draw: st.DrawFn) -> list[dict[str, Any]]:
    kinds = {f: draw(UNIFORM) for f in FIELDS}
    rows = draw(st.integers(min_value=0, max_value=30))
    out = []
    for _ in range(rows):
        present = draw(st.sets(st.sampled_from(FIELDS)))
        out.append({f: draw(st.one_of(st.none(), kinds[f])) for f in FIELDS if f in present})
    return out


@settings(max_examples=200, deadline=None)
@given(uniform_records())
def test_uniform_fields_take_the_column_path_and_match_the_row_path(records: list[dict[str, Any]]) -> None:
    assert _by_columns(records, FIELDS) is not None or not records  # the path under test is the one taken
    frame, bad = text_frame(records, FIELDS)
    assert bad == []
    assert frame.equals(_reference(records))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(FIELDS), SCALARS), max_size=30))
def test_mixed_fields_are_spelled_as_the_row_path_spells_them(records: list[dict[str, Any]]) -> None:
    frame, bad = text_frame(records, FIELDS)
    # Integers beyond 64 bits make the row path itself fail: they are turned into their digits first.
    digits = [{k: str(v) if _huge(v) else v for k, v in r.items()} for r in records]
    assert frame.equals(_reference(digits))
    assert bad == []


def _huge(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 2**63


def test_a_boolean_among_integers_keeps_its_own_spelling() -> None:
    # Polars reads [1, True] as integers 1, 1 when asked to infer; the column path must not.
    frame, _ = text_frame([{"a": 1}, {"a": True}, {"a": None}], ["a"])
    assert frame.get_column("a").to_list() == ["1", "true", None]


def test_a_nested_value_in_a_scalar_field_is_reported_not_stringified() -> None:
    frame, bad = text_frame([{"a": "x"}, {"a": {"k": 1}}], ["a"])
    assert frame.get_column("a").to_list() == ["x", None]
    assert [(b.row, b.field, b.reason) for b in bad] == [(1, "a", "nested value where a scalar is expected")]


def test_a_type_change_in_a_later_slice_falls_back_for_every_row() -> None:
    records: list[dict[str, Any]] = [{"a": i, "b": "x"} for i in range(SLICE_ROWS + 10)]
    assert _by_columns(records, FIELDS) is not None
    records.append({"a": "mm:ss", "b": True})
    assert _by_columns(records, FIELDS) is None
    frame, _ = text_frame(records, FIELDS)
    assert frame.equals(_reference(records))
    assert frame.get_column("a").to_list()[-2:] == [str(SLICE_ROWS + 9), "mm:ss"]


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
