"""Fetching one unit of work (one user's listing in one window, one instance's participants...) with the
stream's sources in order, turning what comes back into events.

* GraphQL first when the stream uses it (``Sources``); ``GraphQLUnavailable`` switches the stream to REST
  and the same unit is fetched again with REST.
* REST endpoints in order: a ``ResourceError`` from one tries the next (``/report/meetings/{uuid}/
  participants``, then ``/past_meetings/{uuid}/participants``); when none can serve the resource, one
  ``Skip`` names it. A GraphQL ``ResourceError`` goes on with the REST endpoints after the first (the first
  is the REST twin of the GraphQL query and would refuse the same way), unless the unit names no resource
  (an account-wide listing), where REST starts from its first endpoint.
* A GraphQL unit whose pages dropped items (partial data) is not complete: its key is not marked done,
  so the next run fetches it again. An error that names no item is recorded as a ``Skip`` only (a
  standing notice must not make every unit refetch forever).
* Item errors a GraphQL page kept after its retry become ``Skip`` events too: never silent.
* A listing that would not end (``PaginationError``: a repeated page token, endless empty pages) is
  stopped: a ``Skip`` names it, the unit is not complete, and its gap scope (if any) opens a gap.
* A unit with a ``gap`` scope says whether it left a gap a later run must fill (items GraphQL dropped; REST
  serving it after the stream fell back from GraphQL), or closed the gaps earlier runs left in its scope
  (``etl.extract.gaps``); a ``Gap`` event follows its pages either way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from etl.errors import GraphQLUnavailable, PaginationError, ResourceError
from etl.extract.gaps import Scope
from etl.extract.run import Run
from etl.extract.scheduler import Emit
from etl.records import Gap, Page, Skip
from etl.sources import graphql, rest
from etl.streams import Stream

OnRecords = Callable[[list[dict[str, Any]]], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Unit:
    """One unit of work of one stream: the values its sources need and what goes on its pages."""

    stream: Stream
    resource: str  # named in a Skip: "user abc", "meeting uuid ...", "2024-05-01..2024-05-31"
    variables: Mapping[str, Any] = field(default_factory=dict)  # GraphQL variables
    path_params: Mapping[str, str | int] = field(default_factory=dict)  # REST placeholders
    params: Mapping[str, str | int] = field(
        default_factory=dict
    )  # REST query parameters beyond the endpoint's
    context: Mapping[str, Any] = field(default_factory=dict)  # put on every record of its pages
    emit_pages: bool = True  # False when the stream is only fetched as a parent of another
    gap: Scope | None = None  # what the unit covers, for the gaps it leaves or closes (None: no gaps)


def fetch_unit(
    run: Run,
    unit: Unit,
    emit: Emit,
    on_records: OnRecords | None = None,
    *,
    on_others: OnRecords | None = None,
) -> bool:
    """Fetch ``unit``, emitting its pages (and skips); False when the resource could not be fetched.
    Then, if the unit has a ``gap`` scope, the ``Gap`` it leaves or the closing of those it covers.

    ``on_others`` gets, for every REST page, the records the endpoint lists for another stream
    (``Endpoint.other_entities``; an empty list when there are none), so a caller knows REST served."""
    try:
        complete, lost = _fetch(run, unit, emit, on_records, on_others)
    except PaginationError as exc:
        # A listing that would not end (a page token repeated, endless empty pages): its pages so far
        # are kept, the rest is recorded as a skip, and as a gap for the next runs to fetch again.
        emit(skip(run, unit.stream.name, unit.resource, exc))
        complete, lost = False, f"listing stopped: {exc}"
    if unit.gap is not None and unit.emit_pages:
        emit_gap(run, unit.stream.name, unit.gap, lost, emit)
    return complete


def emit_gap(run: Run, stream: str, scope: Scope, lost: str, emit: Emit) -> None:
    """A unit of ``stream`` covering ``scope`` is done: open a gap if it ``lost`` something (the reason),
    else close the gaps earlier runs left there (only if there are any: most units have none)."""
    if lost:
        emit(Gap(stream, run.account_id, scope.scope, scope.first_day, scope.last_day, lost))
    elif run.outstanding.has(stream, scope.scope):
        emit(Gap(stream, run.account_id, scope.scope, scope.first_day, scope.last_day, closed=True))


def _fetch(
    run: Run, unit: Unit, emit: Emit, on_records: OnRecords | None, on_others: OnRecords | None
) -> tuple[bool, str]:
    """(complete, what was lost for a later run to fetch again: "" if nothing)."""
    stream = unit.stream
    while True:
        query = stream.graphql
        use_graphql = query is not None and run.sources.graphql(stream.name)
        try:
            if use_graphql and query is not None:
                try:
                    dropped = _graphql_unit(run, unit, query, emit, on_records)
                    lost = f"GraphQL dropped {dropped} item(s) (partial errors)" if dropped else ""
                    return not dropped, lost
                except ResourceError as exc:
                    # About one user or meeting: its REST twin would refuse the same way. An account-wide
                    # listing (no path parameter) is about no resource: GraphQL failed, REST serves it.
                    first = 1 if unit.path_params else 0
                    complete = _rest_unit(run, unit, emit, on_records, on_others, first=first, previous=exc)
                    return complete, "" if first else _fallback_loss(run, stream.name)
            complete = _rest_unit(run, unit, emit, on_records, on_others, first=0, previous=None)
            return complete, _fallback_loss(run, stream.name)
        except GraphQLUnavailable as exc:
            if not use_graphql:
                raise
            choice = run.sources.fall_back(stream.name, str(exc))
            if choice is not None:
                emit(choice)


def _fallback_loss(run: Run, stream: str) -> str:
    if run.sources.fell_back(stream):
        return "served by REST after a fallback from GraphQL: to be re-read with GraphQL"
    return ""


def _graphql_unit(
    run: Run, unit: Unit, query: graphql.Query, emit: Emit, on_records: OnRecords | None
) -> int:
    """Emit the unit's GraphQL pages; how many items the pages dropped (0: complete)."""
    dropped = 0
    for page in graphql.fetch_pages(run.client, run.documents, query, unit.variables):
        for path, message in page.missing:
            emit(Skip(unit.stream.name, run.account_id, f"{unit.resource}: {path}", message))
        dropped += page.dropped  # an error that names no item is recorded, not retried
        if on_records is not None and page.partial:
            on_records([dict(item) for item in page.partial])  # children of a dropped item still count
        _emit_page(run, unit, "graphql", page.request, page.records, emit, on_records)
    return dropped


def _rest_unit(
    run: Run,
    unit: Unit,
    emit: Emit,
    on_records: OnRecords | None,
    on_others: OnRecords | None,
    *,
    first: int,
    previous: ResourceError | None,
) -> bool:
    complete = True
    for extra in unit.stream.fanout:  # REST lists users once per status; GraphQL lists them all at once
        params = {**unit.params, **dict(extra)}
        error = previous
        for endpoint in [e for e in unit.stream.rest[first:] if run.sources.serves(e)]:
            try:
                for page in rest.fetch_pages(run.client, endpoint, unit.path_params, params):
                    _emit_page(run, unit, "rest", page.request, page.records, emit, on_records)
                    if on_others is not None:
                        on_others(page.others)
                error = None
                break
            except ResourceError as exc:
                error = exc
        else:
            if error is None:
                raise RuntimeError(f"stream {unit.stream.name} has no REST endpoint to fall back to")
        if error is not None:
            emit(skip(run, unit.stream.name, unit.resource, error))
            complete = False
    return complete


def _emit_page(
    run: Run,
    unit: Unit,
    source: Literal["graphql", "rest"],
    request: str,
    records: list[dict[str, Any]],
    emit: Emit,
    on_records: OnRecords | None,
) -> None:
    if on_records is not None:  # first: it may take nested parts out of the records before they are shared
        # Only objects can name children; anything else still travels in the page, so normalize
        # quarantines it in _etl.rejects instead of it vanishing here.
        on_records([r for r in records if isinstance(r, dict)])
    if unit.emit_pages:
        emit(
            Page(
                unit.stream.name,
                run.account_id,
                source,
                request,
                datetime.now(UTC),
                records,
                dict(unit.context),
            )
        )


def skip(run: Run, stream: str, resource: str, error: ResourceError | PaginationError) -> Skip:
    """A resource Zoom refused (with its HTTP status and code), or a listing stopped because it never
    ended."""
    if isinstance(error, PaginationError):
        return Skip(stream, run.account_id, resource, str(error))
    return Skip(stream, run.account_id, resource, str(error), error.status, error.code)
