"""Every query document validates offline against the project's model of Zoom's schema (no introspection).

Also pins the conventions the extraction side relies on: one file per stream named after it, operation
name = the stream in camelCase, `$first: Int!` and a nullable `$after: String`, and each connection selects
`pageInfo { cursor }`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLSchema,
    NonNullTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    build_schema,
    parse,
    print_type,
    validate,
)

ROOT = Path(__file__).resolve().parents[1]
QUERIES = ROOT / "queries"
SDL = ROOT / "schemas" / "zoom.graphql"
STREAM_QUERIES = {
    "users",
    "meetings",
    "meeting_instances",
    "meeting_participants",
    "recordings",
    "daily_usage",
    "users_with_meetings",
}
QUERY_FILES = sorted(QUERIES.glob("*.graphql"))


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema(SDL.read_text(encoding="utf-8"))


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def operation(document: DocumentNode) -> OperationDefinitionNode:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert len(ops) == 1, "one operation per document"
    return ops[0]


def test_every_stream_has_its_query_file() -> None:
    assert {p.stem for p in QUERY_FILES} == STREAM_QUERIES


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_validates_against_schema(path: Path, schema: GraphQLSchema) -> None:
    document = parse(path.read_text(encoding="utf-8"))
    assert validate(schema, document) == []


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_query_follows_variable_conventions(path: Path) -> None:
    op = operation(parse(path.read_text(encoding="utf-8")))
    assert op.operation.value == "query"
    assert op.name is not None and op.name.value == camel(path.stem)
    variables = {v.variable.name.value: v.type for v in op.variable_definitions}
    first, after = variables.get("first"), variables.get("after")
    assert isinstance(first, NonNullTypeNode) and first.type.name.value == "Int"  # type: ignore[attr-defined]
    assert after is not None and not isinstance(after, NonNullTypeNode), "$after must be nullable"
    assert after.name.value == "String"  # type: ignore[attr-defined]


def connections(selection_set: SelectionSetNode | None) -> list[FieldNode]:
    """Every field in the document that selects `edges` (a connection)."""
    found: list[FieldNode] = []
    for sel in selection_set.selections if selection_set else ():
        if isinstance(sel, FieldNode) and sel.selection_set:
            names = {s.name.value for s in sel.selection_set.selections if isinstance(s, FieldNode)}
            if "edges" in names:
                found.append(sel)
            found.extend(connections(sel.selection_set))
    return found


@pytest.mark.parametrize("path", QUERY_FILES, ids=lambda p: p.stem)
def test_every_connection_selects_cursor_and_pages_by_variables(path: Path) -> None:
    op = operation(parse(path.read_text(encoding="utf-8")))
    conns = connections(op.selection_set)
    assert conns, "a stream query reads at least one connection"
    for conn in conns:
        page_info = next(
            s
            for s in conn.selection_set.selections
            if isinstance(s, FieldNode) and s.name.value == "pageInfo"
        )
        assert [s.name.value for s in page_info.selection_set.selections] == ["cursor"]  # type: ignore[union-attr,attr-defined]
        args = {a.name.value: a.value for a in conn.arguments}
        assert args["first"].name.value == "first"  # type: ignore[attr-defined]
    # the outermost connection is the one `$after` pages
    outer_args = {a.name.value: a.value for a in conns[0].arguments}
    assert outer_args["after"].name.value == "after"  # type: ignore[attr-defined]


def test_a_field_the_schema_lacks_fails_validation(schema: GraphQLSchema) -> None:
    """The offline check is real: an unknown field gives the standard "Cannot query field" message."""
    errors = validate(schema, parse("query users($first: Int!) { users(first: $first) { edges { nope } } }"))
    assert len(errors) == 1
    assert errors[0].message.startswith("Cannot query field 'nope' on type 'User'.")


def test_meeting_ids_are_64_bit(schema: GraphQLSchema) -> None:
    """graphql-core's Int is 32-bit; Zoom meeting ids (93989529046) need the BigInt scalar."""
    for type_name in ("Meeting", "Recording", "Webinar"):
        assert "id: BigInt!" in print_type(schema.type_map[type_name])
