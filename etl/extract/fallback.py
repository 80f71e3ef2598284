"""Which source serves each stream, and the switch to REST when GraphQL cannot.

GraphQL is used when the stream has a query, the stream's ``source`` setting is ``auto`` or ``graphql``,
and (for ``auto``) the plan is not Free: Zoom's GraphQL beta needs Pro or higher (FACTS.md §1.1), so asking
would only cost a refused request. ``--source graphql`` on a Free plan still tries, and falls back if
refused. ``--source rest`` forces REST.

A ``GraphQLUnavailable`` from any task of a stream (validation error, permission or plan error, repeated
failures) switches the whole stream to REST for the rest of the run, once, with the reason recorded in a
``SourceChoice`` event; the task that saw it re-runs its unit of work with REST. Pages already emitted by
GraphQL stay: REST re-fetches the same keys and the loader's upserts make that harmless.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

from etl.config import Settings
from etl.errors import ConfigError
from etl.records import SourceChoice
from etl.sources.rest import Endpoint
from etl.streams import BY_NAME, Stream, with_ancestors


def initial_choice(stream: Stream, setting: str, plan: str) -> tuple[str, str]:
    """(source, reason) at the start of a run."""
    if stream.graphql is None:
        return "rest", "no GraphQL query models this stream"
    if setting == "rest":
        return "rest", "source forced to rest"
    if setting == "auto" and plan == "free":
        return "rest", "free plan: Zoom's GraphQL API needs Pro or higher"
    return "graphql", ""


PAID_ONLY = "free plan: Zoom's reports (GET /report/...) need Pro or higher, and no other source serves"


def paid_only(endpoint: Endpoint) -> bool:
    """Zoom's reports: "Prerequisites: Pro or higher plan" (OpenAPI), and the endpoints marked ``paid``
    (AI Companion summaries); code 200 on a Free account."""
    return endpoint.paid or endpoint.path.startswith("/report/")


def paid_reason(stream: Stream) -> str:
    """Why Zoom serves ``stream`` nothing on Free: its reports, or the paid endpoints it names."""
    paths = [e.path for e in stream.rest if not e.path.startswith("/report/")]
    if not paths:
        return PAID_ONLY
    listed = ", ".join(f"GET {p}" for p in paths)
    return f"free plan: Zoom serves {listed} on Pro or higher only, and no other source serves"


def unavailable_on_plan(
    names: Sequence[str], settings: Settings, plan: str, *, named: bool = False
) -> dict[str, str]:
    """The streams of ``names`` (or of the parents they need) Zoom serves no source of on ``plan``, with
    the reason: on Free, those whose every REST endpoint is a report ("Prerequisites: Pro or higher plan",
    code 200 on Free) and which GraphQL does not serve there either, and every stream below one of them.
    ``named``: the user asked for ``names`` by name, so one of them unavailable is a ``ConfigError``."""
    if plan != "free":
        return {}
    out = _unavailable(with_ancestors(tuple(names)), settings, plan)
    refused = [n for n in names if n in out] if named else []
    if refused:
        raise ConfigError(f"stream(s) {', '.join(refused)} cannot be synced: {out[refused[0]]}")
    return out


def _unavailable(names: Sequence[str], settings: Settings, plan: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in names:
        stream = BY_NAME[name]
        on_rest = initial_choice(stream, settings.source_for(name), plan)[0] == "rest"
        if on_rest and all(paid_only(e) for e in stream.rest):
            out[name] = paid_reason(stream)
    for name in names:
        ancestor = BY_NAME[name].parent
        while ancestor is not None and name not in out:
            if ancestor in out:
                out[name] = f"{out[ancestor]}: its parent {ancestor} is not available"
            ancestor = BY_NAME[ancestor].parent
    return out


class Sources:
    """The source in use per stream; thread-safe, switches to REST at most once per stream."""

    def __init__(self, account_id: str, streams: Iterable[Stream], settings: Settings, plan: str) -> None:
        self._account_id = account_id
        self._plan = plan
        self._lock = threading.Lock()
        self._choice: dict[str, str] = {}
        self._reason: dict[str, str] = {}
        for stream in streams:
            source, reason = initial_choice(stream, settings.source_for(stream.name), plan)
            self._choice[stream.name] = source
            self._reason[stream.name] = reason
        self._initial = dict(self._choice)

    def serves(self, endpoint: Endpoint) -> bool:
        """Whether Zoom serves ``endpoint`` on the account's plan: no report on Free (code 200)."""
        return not (self._plan == "free" and paid_only(endpoint))

    def withdraw(self, name: str, reason: str) -> SourceChoice | None:
        """No source serves ``name`` for the rest of the run (the token lacks an optional stream's scope);
        the ``SourceChoice`` to emit, or None if another task already did."""
        with self._lock:
            if self._choice.get(name) == "none":
                return None
            self._choice[name] = "none"
            self._reason[name] = reason
        return SourceChoice(name, self._account_id, "none", reason)

    def withdrawn(self, name: str) -> bool:
        with self._lock:
            return self._choice.get(name) == "none"

    def graphql(self, name: str) -> bool:
        with self._lock:
            return self._choice.get(name) == "graphql"

    def source(self, name: str) -> str:
        with self._lock:
            return self._choice.get(name, "rest")

    def fell_back(self, name: str) -> bool:
        """Whether ``name`` started this run on GraphQL and was switched to REST (what REST serves from
        then on is recorded as a gap for the next run to re-read with GraphQL: ``etl.extract.gaps``)."""
        with self._lock:
            return self._initial.get(name) == "graphql" and self._choice.get(name) != "graphql"

    def announcements(self) -> list[SourceChoice]:
        """One ``SourceChoice`` per stream for the start of the run."""
        with self._lock:
            return [
                SourceChoice(name, self._account_id, source, self._reason[name])
                for name, source in self._choice.items()
            ]

    def fall_back(self, name: str, reason: str) -> SourceChoice | None:
        """Switch ``name`` to REST; the ``SourceChoice`` to emit, or None if another task already did."""
        with self._lock:
            if self._choice.get(name) != "graphql":
                return None
            self._choice[name] = "rest"
            self._reason[name] = reason
        return SourceChoice(name, self._account_id, "rest", f"fallback from graphql: {reason}")
