"""The simulator's ``POST /v3/graphql``: graphql-core executing ``schemas/zoom.graphql`` over an Account.

The HTTP server hands each request body and a ``GraphQLContext`` (the simulated ``now``, the rate-limit
``charge`` callable, the seeded rng and the fault knobs) to ``GraphQLEndpoint.execute``, which answers
``(status, json_body)``:

* a malformed body (not an object, no ``query`` string, ``variables`` not an object) -> 400 with
  ``{"errors": [...]}``;
* syntax or validation errors ("Cannot query field ...") -> 200 ``{"errors": [...]}`` without ``data``,
  exactly as graphql-core reports them; variable errors likewise;
* a root field whose rate-limit charge is refused -> 429 with Zoom's REST 429 body
  ``{"code": 429, "message": ...}`` (how Zoom signals it for GraphQL is undocumented: FACTS.md §1.4);
* otherwise 200 ``{"data": ...}`` plus ``errors`` for fields that failed (nested rate limit
  ``RATE_LIMITED``, injected ``INTERNAL_ERROR``, ``NOT_FOUND``, ``BAD_USER_INPUT``), each with ``message``,
  ``locations``, ``path`` and ``extensions.code``; failed fields are null, their siblings keep their data.

Speed: parse + validate results are cached per query text (LRU), and leaf fields of plain item dicts are
completed by a fast path that skips graphql-core's per-field resolve-info construction (the dominant cost
for 30-item pages). Needs graphql-core 3.3 (``graphql.execution.executor.Executor``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Any, ClassVar, cast

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    build_schema,
    execute,
    get_nullable_type,
    is_leaf_type,
    is_non_null_type,
    parse,
    validate,
)
from graphql.execution.executor import Executor
from graphql.pyutils import Path, Undefined

from etl.resources import GRAPHQL_SCHEMA
from etl.simulator.graphql_context import GraphQLContext
from etl.simulator.graphql_resolvers import RATE_LIMIT_MESSAGE, RESOLVERS, Request
from etl.simulator.model import Account

DEFAULT_SDL = GRAPHQL_SCHEMA
QUERY_CACHE_SIZE = 256


def _coerce_bigint(value: Any) -> int:
    """BigInt output: an exact integer, never a float or a bool (a JSON number in the response)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise GraphQLError(f"BigInt cannot represent a non-integer value: {value!r}")
    return value


def _parse_bigint(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GraphQLError(f"BigInt cannot represent a non-integer value: {value!r}")
    return value


def load_schema(sdl_path: FilePath = DEFAULT_SDL) -> GraphQLSchema:
    """The schema from ``sdl_path`` with the simulator's resolvers and the BigInt scalar attached."""
    schema = build_schema(sdl_path.read_text(encoding="utf-8"))
    bigint = schema.type_map["BigInt"]
    assert isinstance(bigint, GraphQLScalarType)
    bigint.coerce_output_value = _coerce_bigint
    bigint.coerce_input_value = _parse_bigint
    for (type_name, field_name), resolver in RESOLVERS.items():
        owner = schema.type_map[type_name]
        assert isinstance(owner, GraphQLObjectType), type_name
        owner.fields[field_name].resolve = resolver
    return schema


def _object_types(schema: GraphQLSchema) -> list[GraphQLObjectType]:
    return [
        t
        for name, t in schema.type_map.items()
        if isinstance(t, GraphQLObjectType) and not name.startswith("__")
    ]


def _fast_fields(schema: GraphQLSchema) -> dict[tuple[str, str], tuple[Callable[[Any], Any], bool]]:
    """(type, field) -> (output coercer, non-null) for leaf fields read straight from item dicts."""
    fast: dict[tuple[str, str], tuple[Callable[[Any], Any], bool]] = {}
    for t in _object_types(schema):
        for name, f in t.fields.items():
            inner = get_nullable_type(f.type)
            if f.resolve is None and is_leaf_type(inner):
                fast[(t.name, name)] = (inner.coerce_output_value, is_non_null_type(f.type))
    return fast


def _nullable_leaves(schema: GraphQLSchema) -> dict[str, tuple[str, ...]]:
    """Per object type, its nullable leaf fields: the ones drift and partial errors may touch."""
    return {
        t.name: tuple(
            sorted(n for n, f in t.fields.items() if not is_non_null_type(f.type) and is_leaf_type(f.type))
        )
        for t in _object_types(schema)
    }


class _FastExecutor(Executor):
    """graphql-core's executor with a shortcut for the leaf fields of plain dict items.

    A leaf field with no resolver on a ``dict`` source is the default resolver plus output coercion; this
    does exactly that, without building a ``Path`` and a ``GraphQLResolveInfo`` per field and without the
    awaitable checks (every resolver here is synchronous). Everything else (nulls on non-null fields,
    exceptions as values, failed coercions, ``FaultyItem`` sources, object fields, ``__typename``) takes
    graphql-core's own path, so errors keep their locations and paths.
    """

    fast_fields: ClassVar[dict[tuple[str, str], tuple[Callable[[Any], Any], bool]]] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        if type(source_value) is not dict:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        fast = self.fast_fields
        type_name = parent_type.name
        for response_name, field_details_list in grouped_field_set.items():
            name = field_details_list[0].node.name.value
            spec = fast.get((type_name, name))
            if spec is not None:
                value = source_value.get(name)
                if value is None:
                    if not spec[1]:
                        results[response_name] = None
                        continue
                elif not isinstance(value, Exception):
                    try:
                        results[response_name] = spec[0](value)
                        continue
                    except Exception:  # let graphql-core report it with its location and path
                        pass
            result = self.execute_field(
                parent_type,
                source_value,
                field_details_list,
                Path(path, response_name, type_name),
                position_context,
            )
            if result is not Undefined:
                results[response_name] = result
        return results


class _MemoAccount:
    """The Account with its listings memoised by (arguments, ``now``).

    Every Account listing is a pure function of its arguments and ``now`` (same seed, same answer), and a
    sync asks for the same listing once per page: without this, paging 30 of 220 users rebuilds all 220
    each time. ``now`` only moves when the clock is advanced, so the caches hit within a sync. Sizes are
    small and bounded so that the ``large`` profile's memory stays flat.
    """

    def __init__(self, account: Account) -> None:
        self._account = account
        self.users = lru_cache(maxsize=8)(account.users)
        self.user = lru_cache(maxsize=4096)(account.user)
        self.scheduled_meetings = lru_cache(maxsize=512)(account.scheduled_meetings)
        self.instances_of_host = lru_cache(maxsize=512)(account.instances_of_host)
        self.participants = lru_cache(maxsize=256)(account.participants)
        self.recordings = lru_cache(maxsize=256)(account.recordings)
        self.webinars = lru_cache(maxsize=256)(account.webinars)
        self.daily_usage = lru_cache(maxsize=16)(account.daily_usage)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._account, name)


class GraphQLEndpoint:
    """``POST /v3/graphql`` over one Account; thread-safe (per-request state lives in ``Request``)."""

    def __init__(
        self, account: Account, sdl_path: FilePath | str = DEFAULT_SDL, *, fast: bool = True
    ) -> None:
        """``fast=False``: graphql-core's stock executor, the reference the fast path is tested against."""
        self.account = account
        self._listings = cast(Account, _MemoAccount(account))
        self.schema = load_schema(FilePath(sdl_path))
        self._nullable = _nullable_leaves(self.schema)
        self._executor: type[Executor] | None = (
            type("_SchemaExecutor", (_FastExecutor,), {"fast_fields": _fast_fields(self.schema)})
            if fast
            else None
        )
        self._prepare = lru_cache(maxsize=QUERY_CACHE_SIZE)(self._prepare_uncached)

    def _prepare_uncached(self, query: str) -> tuple[DocumentNode | None, tuple[GraphQLError, ...]]:
        try:
            document = parse(query)
        except GraphQLError as exc:
            return None, (exc,)
        return document, tuple(validate(self.schema, document))

    def execute(self, body: object, ctx: GraphQLContext) -> tuple[int, dict[str, Any]]:
        """Run one GraphQL request body; returns (HTTP status, JSON-ready body)."""
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return 400, _request_error("The request body must be a JSON object with a 'query' string.")
        variables = body.get("variables")
        if variables is not None and not isinstance(variables, dict):
            return 400, _request_error("'variables' must be a JSON object.")
        operation_name = body.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            return 400, _request_error("'operationName' must be a string.")

        document, errors = self._prepare(body["query"])
        if document is None or errors:
            return 200, {"errors": [e.formatted for e in errors]}

        request = Request(account=self._listings, ctx=ctx, nullable=self._nullable)
        result = execute(
            self.schema,
            document,
            context_value=request,
            variable_values=variables,
            operation_name=operation_name,
            executor_class=self._executor,
        )
        assert not isinstance(result, Awaitable), "every resolver is synchronous"
        if request.root_limited:
            return 429, {"code": 429, "message": RATE_LIMIT_MESSAGE}
        out: dict[str, Any] = {}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        if result.data is not None:  # every root field is nullable: None means execution never started
            out["data"] = result.data
        return 200, out


def _request_error(message: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
