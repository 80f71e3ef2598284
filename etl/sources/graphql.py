"""GraphQL source: query files checked offline, sent through ``ZoomClient.graphql``, records renamed.

Documents are read from ``queries/<name>.graphql`` and validated LOCALLY against ``schemas/zoom.graphql``
with gql (``gql.gql`` + ``gql.Client(schema=...).validate``): no introspection at run time, and gql's
transports are never used; the one HTTP client (``etl.http``) sends every request.

Records are the items of the connection at the query's records path (``users.edges``,
``user.recordings.edges``), renamed from camelCase to Zoom's REST snake_case names by ``rest_name`` (with
``REST_NAMES`` for the fields whose names differ), so nothing downstream knows which source served a page.

Policy for ``errors[]`` (Zoom answers 200 even when a body carries errors; its error format is
undocumented, FACTS.md §1.6, so errors are classified by ``extensions.code`` first, message second):

1. Validation errors ("Cannot query field", "Unknown argument", "Unknown type", ``extensions.code``
   ``GRAPHQL_VALIDATION_FAILED``), permission and plan errors (``FORBIDDEN``, ``UNAUTHORIZED``,
   ``PERMISSION_DENIED``, "paid account", "scope", ``extensions.code`` 200/4700/4711), any non-2xx answer
   but a rate limit (a 404 for an account without GraphQL, a 401 or missing scope on GraphQL alone, 5xx
   or broken bodies after the client's retries), a cursor that repeats, and a full page that cannot
   say whether more follow: ``GraphQLUnavailable``. The engine falls back to REST for that stream and
   records why (``SourceChoice``); if the trouble is general, REST fails the same way and says so.
2. ``RATE_LIMITED`` (or ``TOO_MANY_REQUESTS``, ``RATE_LIMIT_EXCEEDED``, ``429``) on the page itself (no
   data at the records path): wait (``RATE_LIMIT_WAITS``, growing) and send the same page again; still
   rate limited after the last wait: ``RateLimitError``.
3. ``NOT_FOUND`` on the connection itself (the user or meeting the page is about): ``ResourceError``,
   which the engine records as a ``Skip``, exactly as for REST's 404/1001/3001.
4. Partial data: the connection is present but some items (or fields under them) have errors. Items with
   an error under them are dropped (a null field must not overwrite a good value downstream), the good
   items are kept, and the page is sent again ONCE; a clean retry replaces the page. Otherwise the
   attempt with the most good items is used and every dropped item or error path is reported in
   ``GraphQLPage.missing``; the engine emits one ``Skip`` per entry (resource = path, reason = message).
   A dropped item's identity fields are non-null in the schema, so ``GraphQLPage.partial`` keeps the
   dropped items for their keys: the children of a user or an instance are still fetched.
   Errors under a field the query lists in ``Query.nested`` (a user's nested ``meetings``) are the
   caller's: it refetches that field with its own query.
5. Any other error on the connection (data null at the records path): the page is sent again once; a
   second failure is "repeated failures" and raises ``GraphQLUnavailable`` so the stream falls back to REST.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gql
from graphql import GraphQLError

from etl.errors import ApiError, AuthError, GraphQLUnavailable, PaginationError, RateLimitError, ResourceError
from etl.http.body import screen
from etl.records import Unreadable
from etl.resources import GRAPHQL_SCHEMA, QUERIES
from etl.sources.paginate import cursor_pages
from etl.sources.rest import Category

if TYPE_CHECKING:
    from etl.http.client import ZoomClient

QUERIES_DIR = QUERIES
SCHEMA_PATH = GRAPHQL_SCHEMA
ENDPOINT = "/v3/graphql"
PAGE_SIZE = 300
RATE_LIMIT_WAITS = (1.0, 2.0, 4.0, 8.0, 16.0)

# camelCase GraphQL names whose REST name is not their plain snake_case.
REST_NAMES: Mapping[str, str] = {"department": "dept", "pageInfo": "page_info"}

_VALIDATION_CODES = {"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "BAD_USER_INPUT"}
_DENIED_CODES = {"FORBIDDEN", "UNAUTHORIZED", "PERMISSION_DENIED", "UNAUTHENTICATED", "PLAN_NOT_SUPPORTED"}
# Zoom's GraphQL rate-limit code is undocumented (FACTS.md §1.4): the spellings servers use for it.
_RATE_LIMITED_CODES = {"RATE_LIMITED", "TOO_MANY_REQUESTS", "RATE_LIMIT_EXCEEDED", "429"}
_DENIED_NUMBERS = {200, 4700, 4711}
_VALIDATION_TEXT = re.compile(r"Cannot query field|Unknown argument|Unknown type|is not defined|Syntax Error")
_DENIED_TEXT = re.compile(r"paid account|permission|scope|not allowed|not available", re.IGNORECASE)
_UPPER_RUN = re.compile(r"([A-Z]+)([A-Z][a-z])")
_LOWER_UPPER = re.compile(r"([a-z0-9])([A-Z])")


@cache
def rest_name(name: str) -> str:
    """Zoom's REST name for a GraphQL field: ``joinUrl`` -> ``join_url``, ``meetingUUID`` -> ``meeting_uuid``.

    Explicit overrides (``REST_NAMES``) win; the rule is otherwise plain snake_case, acronyms kept whole.
    """
    if name in REST_NAMES:
        return REST_NAMES[name]
    return _LOWER_UPPER.sub(r"\1_\2", _UPPER_RUN.sub(r"\1_\2", name)).lower()


def to_rest_names(value: Any) -> Any:
    """Rename every key of nested dicts and lists (``fileType`` -> ``file_type``)."""
    if isinstance(value, Mapping):
        return {rest_name(key): to_rest_names(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_rest_names(item) for item in value]
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    """A GraphQL source of a stream: the query file stem, where its items are, and its rate-limit category.

    ``units`` is what one page costs in the category (GraphQL charges per field: a nested connection under
    every user of a page costs one more call per user).
    """

    name: str
    records_path: tuple[str, ...]
    category: Category
    units: int = 1
    page_size: int = PAGE_SIZE
    nested: tuple[str, ...] = ()  # item fields whose errors the caller handles by refetching them


class Documents:
    """The query files, parsed and validated against the project's schema once, on first use."""

    def __init__(self, queries_dir: Path = QUERIES_DIR, schema_path: Path = SCHEMA_PATH) -> None:
        self.queries_dir = queries_dir
        self._client = gql.Client(schema=schema_path.read_text(encoding="utf-8"))
        self._texts: dict[str, str] = {}
        self._invalid: dict[str, str] = {}

    def text(self, name: str) -> str:
        """The document of ``queries/<name>.graphql``; ``GraphQLUnavailable`` if it is missing or invalid."""
        if name in self._texts:
            return self._texts[name]
        if name in self._invalid:
            raise GraphQLUnavailable(self._invalid[name], endpoint=ENDPOINT)
        path = self.queries_dir / f"{name}.graphql"
        try:
            text = path.read_text(encoding="utf-8")
            self._client.validate(gql.gql(text))
        except (OSError, GraphQLError) as exc:
            self._invalid[name] = f"query {path.name} failed local validation: {exc}".splitlines()[0]
            raise GraphQLUnavailable(self._invalid[name], endpoint=ENDPOINT) from exc
        self._texts[name] = text
        return text


@dataclass(frozen=True, slots=True)
class GraphQLPage:
    """One page: REST-named records, the request line for the run log, and item errors left after a retry."""

    request: str
    records: list[dict[str, Any]]
    cursor: str
    missing: tuple[tuple[str, str], ...] = field(default=())  # (error path, message)
    partial: tuple[dict[str, Any], ...] = field(default=())  # the dropped items, for their keys only
    dropped: int = 0  # items left out of ``records`` (an error under them, or null): the page lost them


def fetch_pages(
    client: ZoomClient,
    documents: Documents,
    query: Query,
    variables: Mapping[str, Any],
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[GraphQLPage]:
    """Every page of one connection, following ``pageInfo.cursor``, under the module docstring's policy."""
    text = documents.text(query.name)
    where = f"POST {ENDPOINT} {query.name}"

    def fetch(after: str | None) -> GraphQLPage:
        # A caller may start mid-listing (a cursor from a nested connection): ``variables["after"]``.
        page_vars = {**variables, "first": query.page_size, "after": after or variables.get("after")}
        return _fetch_page(client, text, query, page_vars, sleep=sleep)

    try:
        yield from cursor_pages(fetch, where=where, envelope=_connection)
    except PaginationError as exc:  # a cursor that loops: this connection cannot be listed to its end
        raise GraphQLUnavailable(f"{query.name}: {exc}", endpoint=ENDPOINT) from exc


def _connection(page: GraphQLPage) -> Mapping[str, Any]:
    return {"pageInfo": {"cursor": page.cursor}, "edges": page.records}


def _fetch_page(
    client: ZoomClient,
    text: str,
    query: Query,
    variables: Mapping[str, Any],
    *,
    sleep: Callable[[float], None],
) -> GraphQLPage:
    shown = {k: v for k, v in variables.items() if k != "first" and v is not None}
    request = f"POST {ENDPOINT} {query.name} {shown}"
    best: GraphQLPage | None = None
    for attempt in range(2):
        body = _send(client, text, query, variables, sleep=sleep)
        errors = [e for e in body.get("errors") or [] if isinstance(e, Mapping)]
        _raise_if_unavailable(errors, query)
        connection = _at_path(body.get("data"), query.records_path)
        if connection is None:
            not_found = [e for e in errors if _code(e) == "NOT_FOUND"]
            if not_found:
                raise ResourceError(_message(not_found[0]), method="POST", endpoint=ENDPOINT, status=404)
            if attempt == 0:
                continue
            reason = _message(errors[0]) if errors else f"no data at {'.'.join(query.records_path)}"
            raise GraphQLUnavailable(f"{query.name}: repeated failures: {reason}", endpoint=ENDPOINT)
        page = _split_page(request, connection, errors, query)
        if best is None or not page.missing or len(page.records) > len(best.records):
            best = page
        if not page.missing:
            break
    assert best is not None  # the loop either set it or raised
    return best


def _split_page(
    request: str, connection: Mapping[str, Any], errors: Sequence[Mapping[str, Any]], query: Query
) -> GraphQLPage:
    """Keep the items without errors under them; name the others in ``missing``.

    Errors under a field listed in ``query.nested`` are left to the caller, which refetches that field
    with its own query: the field is handed on as null (a user whose nested ``meetings`` is null), and
    the error neither drops the item nor counts as missing.
    """
    edges = connection.get("edges") or []
    prefix = [*query.records_path, "edges"]
    bad: dict[int, str] = {}
    refetch: dict[int, set[str]] = {}  # item -> nested fields with an error anywhere under them
    missing: list[tuple[str, str]] = []
    for error in errors:
        path = list(error.get("path") or ())
        index = path[len(prefix)] if path[: len(prefix)] == prefix and len(path) > len(prefix) else None
        if isinstance(index, int):
            field_name = path[len(prefix) + 1] if len(path) > len(prefix) + 1 else None
            if field_name in query.nested:
                refetch.setdefault(index, set()).add(str(field_name))
                continue
            bad.setdefault(index, _message(error))
        else:
            missing.append((".".join(str(p) for p in path) or query.name, _message(error)))
    # An Unreadable travels where records go (a str, not a dict: no stage reads it as a record).
    records: list[Any] = []
    partial: list[Any] = []
    dropped = 0
    for index, item in enumerate(edges):
        if isinstance(item, Unreadable) and index not in bad:
            records.append(item)  # a record no JSON writer can store: normalize puts it in rejects
        elif index in bad or not isinstance(item, Mapping):
            dropped += 1
            key = item.get("uuid") or item.get("id") if isinstance(item, Mapping) else None
            where = f"{'.'.join(prefix)}[{index}]" + (f" ({key})" if key else "")
            missing.append((where, bad.get(index, "null item")))
            if isinstance(item, Mapping):
                partial.append(to_rest_names(item))
        else:
            # A nested field with an error under it (one of a user's meetings nulled) is handed on as
            # null: the caller refetches it whole with its own query rather than keep a partial page.
            nulled = {name: None for name in refetch.get(index, ())}
            records.append(to_rest_names({**item, **nulled} if nulled else item))
    cursor = _cursor(connection, len(edges), query)
    return GraphQLPage(request, records, cursor, tuple(missing), tuple(partial), dropped)


def _cursor(connection: Mapping[str, Any], items: int, query: Query) -> str:
    """The next page's cursor; "" ends the listing. A page that cannot say whether more follows (no
    ``pageInfo`` or no ``cursor`` on a full page, ``hasNextPage`` with no cursor) would end it silently
    short: that is GraphQL failing to serve the listing, and REST takes over."""
    info = connection.get("pageInfo")
    cursor = info.get("cursor") if isinstance(info, Mapping) else None
    if cursor:
        return str(cursor)
    more = isinstance(info, Mapping) and info.get("hasNextPage") is True
    if more or (cursor is None and items >= query.page_size):
        raise GraphQLUnavailable(f"{query.name}: page has no usable pageInfo.cursor", endpoint=ENDPOINT)
    return ""


def _screened(body: Mapping[str, Any], query: Query) -> Mapping[str, Any]:
    """``body`` with each edge under ``query.records_path`` screened (``etl.http.body.screen``)."""
    connection = _at_path(body.get("data"), query.records_path)
    if isinstance(connection, dict) and isinstance(connection.get("edges"), list):
        connection["edges"] = screen(connection["edges"])
    return body


def _send(
    client: ZoomClient,
    text: str,
    query: Query,
    variables: Mapping[str, Any],
    *,
    sleep: Callable[[float], None],
) -> Mapping[str, Any]:
    """POST the page; wait and resend while the page itself comes back RATE_LIMITED."""
    for wait in (*RATE_LIMIT_WAITS, None):
        try:
            response = client.graphql(text, variables, category=query.category, units=query.units)
        except ApiError as exc:
            # Refused at the HTTP level, whatever the status: a 404 (no GraphQL for this account), a
            # scope GraphQL needs, 5xx or broken bodies after the client's retries. REST may still
            # serve the stream; if the trouble is general, REST fails the same way and says so. Not a
            # rate limit (REST shares it) nor a refused token (REST cannot do better).
            if isinstance(exc, RateLimitError) or (isinstance(exc, AuthError) and exc.endpoint != ENDPOINT):
                raise
            raise GraphQLUnavailable(
                f"{query.name}: {exc}", endpoint=ENDPOINT, status=exc.status, code=exc.code
            ) from exc
        body = response.json()
        if not isinstance(body, Mapping):
            raise GraphQLUnavailable(f"{query.name}: the answer is not a GraphQL body", endpoint=ENDPOINT)
        if response.repaired:  # its unstorable items become Unreadables (etl.http.body), before renaming
            body = _screened(body, query)
        errors = body.get("errors") or []
        limited = [e for e in errors if isinstance(e, Mapping) and _code(e) in _RATE_LIMITED_CODES]
        if not limited or _at_path(body.get("data"), query.records_path) is not None:
            return body  # a rate-limited item or nested field is partial data (rule 4), not a lost page
        if wait is None:
            break
        sleep(wait)
    raise RateLimitError(
        f"{query.name}: still RATE_LIMITED after {len(RATE_LIMIT_WAITS)} waits", endpoint=ENDPOINT
    )


def _raise_if_unavailable(errors: Sequence[Mapping[str, Any]], query: Query) -> None:
    for error in errors:
        code, message = _code(error), _message(error)
        if (
            code in _VALIDATION_CODES
            or code in _DENIED_CODES
            or _number(error) in _DENIED_NUMBERS
            or _VALIDATION_TEXT.search(message)
            or (code != "NOT_FOUND" and _DENIED_TEXT.search(message))
        ):
            raise GraphQLUnavailable(f"{query.name}: {message}", endpoint=ENDPOINT, code=_number(error))


def _at_path(data: Any, path: Sequence[str]) -> Mapping[str, Any] | None:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data if isinstance(data, Mapping) else None


def _code(error: Mapping[str, Any]) -> str:
    extensions = error.get("extensions")
    return str(extensions.get("code", "")) if isinstance(extensions, Mapping) else ""


def _number(error: Mapping[str, Any]) -> int | None:
    code = _code(error)
    return int(code) if code.isdigit() else None


def _message(error: Mapping[str, Any]) -> str:
    return str(error.get("message") or _code(error) or "unknown GraphQL error")
