"""REST v2 source: endpoint specs as data, Zoom's id encoding, and page fetching through ``ZoomClient``.

Encoding (FACTS.md §2.5): a meeting or webinar UUID that starts with ``/`` or contains ``//`` must be
double percent-encoded (``quote(quote(uuid, safe=""), safe="")``); any other UUID is encoded once; numeric
ids go as they are. ``ZoomClient.rest_get`` takes paths already encoded, so this module is the only place
that builds them.

``me`` is refused here: it means "the token's user" and Server-to-Server tokens have none (the simulator
and Zoom both refuse it), so every user-scoped path carries a real user id.

Per-resource errors (``ResourceError``: 404, 1001, 3001... as ``etl.http.client`` lists them) are not
handled here: they propagate to the extraction engine, which turns each into a ``Skip`` event for the run
log. Never fatal, never silent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlencode

from etl.errors import ResourceError
from etl.http.body import screen
from etl.records import Unreadable
from etl.sources.paginate import numbered_pages, token_pages

if TYPE_CHECKING:
    from etl.http.client import ZoomClient

MAX_PAGE_SIZE = 300
Paging = Literal["token", "number", "none"]  # next_page_token, page_number (legacy), one body
# Zoom's rate-limit labels (the OpenAPI "Rate Limit Label"), as etl.http.ratelimit names them.
Category = Literal["light", "medium", "heavy", "resource_intensive"]
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def encode_id(value: str | int) -> str:
    """One path segment for a user id, meeting id or UUID, encoded the way Zoom requires."""
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if not text:
        raise ValueError("an empty id cannot be a path segment")
    if text.isdigit():
        return text
    if text.startswith("/") or "//" in text:
        return quote(quote(text, safe=""), safe="")
    return quote(text, safe="")


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """One REST GET operation as a stream uses it.

    ``path`` is the OpenAPI template (``/report/meetings/{meetingId}/participants``); ``records_key`` is the
    list in the body (None: the body is one record, as for detail endpoints); ``params`` are fixed query
    parameters; ``paging`` is how the listing continues; ``category`` is the OpenAPI rate-limit label.
    ``other_entities`` names items the listing returns that belong to another stream, by field value:
    Zoom's meeting report lists "past meetings and webinars", and webinars (type 5, 6, 9) are the
    webinar streams' (their participants are not served by the meeting participant endpoints): they are
    handed out apart, as ``RestPage.others``.

    ``scopes`` are the operation's classic scopes (its OpenAPI ``security``), ``granular`` its granular ones
    (the file's ``x-granular-scopes`` where it has them, Zoom's published names elsewhere): any one of either
    family suffices. ``etl.doctor`` checks a token against them; a test checks them against the file.
    """

    path: str
    records_key: str | None
    category: Category
    scopes: tuple[str, ...]
    granular: tuple[str, ...]
    params: tuple[tuple[str, str], ...] = ()
    paging: Paging = "token"
    page_size: int | None = MAX_PAGE_SIZE
    other_entities: tuple[tuple[str, tuple[object, ...]], ...] = ()

    def belongs_elsewhere(self, record: object) -> bool:
        return isinstance(record, dict) and any(record.get(f) in v for f, v in self.other_entities)

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(_PLACEHOLDER.findall(self.path))

    def render(self, path_params: Mapping[str, str | int]) -> str:
        """The path with every placeholder filled and encoded; refuses ``me`` and missing values."""

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in path_params:
                raise ValueError(f"{self.path}: no value for {{{name}}}")
            value = path_params[name]
            if name == "userId" and str(value).lower() == "me":
                raise ValueError(f"{self.path}: 'me' is not usable with Server-to-Server tokens")
            return encode_id(value)

        return _PLACEHOLDER.sub(fill, self.path)

    def query(self, extra: Mapping[str, str | int] | None = None) -> dict[str, str | int]:
        """Query parameters of the first page: fixed ones, the maximum page size, then ``extra``."""
        params: dict[str, str | int] = dict(self.params)
        if self.page_size is not None and self.paging != "none":
            params["page_size"] = self.page_size
        params.update(extra or {})
        return params


@dataclass(frozen=True, slots=True)
class RestPage:
    """One fetched page: its records (REST names already), the request line for the run log, the body."""

    request: str
    records: list[dict[str, Any]]
    body: Mapping[str, Any]
    others: list[dict[str, Any]] = field(default_factory=list)  # records of other entities (see Endpoint)


def fetch_pages(
    client: ZoomClient,
    endpoint: Endpoint,
    path_params: Mapping[str, str | int] | None = None,
    params: Mapping[str, str | int] | None = None,
) -> Iterator[RestPage]:
    """Every page of one listing (or the one body of a detail endpoint), in order."""
    path = endpoint.render(path_params or {})
    first = endpoint.query(params)
    where = f"GET {endpoint.path}"

    def records_of(body: Mapping[str, Any], repaired: bool) -> list[dict[str, Any]]:
        if endpoint.records_key is None:
            records = [dict(body)] if body else []
        else:
            # Non-objects are kept as they came: normalize rejects them, with the payload, rather than lose
            # them. The decoded dicts are handed on as they are, not copied: paging reads only the envelope.
            items = body.get(endpoint.records_key) or []
            if endpoint.other_entities:
                records = [r for r in items if not endpoint.belongs_elsewhere(r)]
            else:
                records = list(items)
        if repaired:  # a body only a lenient reading parsed: a record no JSON writer can store travels as
            return screen(records)  # an Unreadable, to rejects
        return records

    def others_of(body: Mapping[str, Any]) -> list[dict[str, Any]]:
        if not endpoint.other_entities or endpoint.records_key is None:
            return []
        return [r for r in body.get(endpoint.records_key) or [] if endpoint.belongs_elsewhere(r)]

    def page_of(query: Mapping[str, str | int]) -> RestPage:
        """One request, and the page that carries its own request line out of the paginator."""
        response = client.rest_get(path, query, category=endpoint.category)
        body = response.json()
        if not isinstance(body, Mapping):
            body = {}
        line = f"GET /v2{path}?{urlencode(query)}" if query else f"GET /v2{path}"
        return RestPage(line, records_of(body, response.repaired), body, others_of(body))

    def by_token(token: str | None) -> RestPage:
        return page_of({**first, "next_page_token": token} if token else first)

    def by_number(token: str | None, number: int) -> RestPage:
        if token:
            return page_of({**first, "next_page_token": token})
        return page_of({**first, "page_number": number} if number > 1 else first)

    if endpoint.paging == "none":
        yield page_of(first)
    elif endpoint.paging == "number":
        key = endpoint.records_key or ""
        yield from numbered_pages(by_number, records_key=key, where=where, envelope=_body)
    else:
        yield from token_pages(by_token, where=where, records_key=endpoint.records_key, envelope=_body)


def _body(page: RestPage) -> Mapping[str, Any]:
    return page.body


def fetch_detail(
    client: ZoomClient, endpoint: Endpoint, path_params: Mapping[str, str | int]
) -> tuple[str, dict[str, Any] | None]:
    """The request line and the one record of a detail endpoint (the body itself; None if it is empty)."""
    if endpoint.records_key is not None or endpoint.paging != "none":
        raise ValueError(f"{endpoint.path} is a listing, not a detail endpoint")
    page = next(fetch_pages(client, endpoint, path_params))
    record = page.records[0] if page.records else None
    if isinstance(record, Unreadable):  # the callers record a skip, as for a detail Zoom refuses
        raise ResourceError(f"unreadable record: {record.reason}", method="GET", endpoint=endpoint.path)
    return page.request, record
