"""The registry is complete: every stream has its contract, is scheduled by the extraction, and each of its
endpoints carries the scopes and rate-limit category Zoom's OpenAPI file gives the operation; every fact
table names its time column. A stream added with one of those pieces forgotten fails here, by name."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

import pytest
from simenv import sim_account
from zoomspec import NEWER_THAN_THE_FILE, openapi

from etl.config import Settings
from etl.contracts import load_contracts
from etl.extract import extract, jobs
from etl.extract.scheduler import Emit, Group, Scheduler
from etl.http.client import ZoomClient
from etl.http.ratelimit import normalize_category
from etl.records import Page
from etl.simulator.server import RunningSimulator
from etl.streams import BY_NAME, STREAMS, children_of, keyed_streams
from etl.webhooks.targets import EVENTS

LABEL = re.compile(r"Rate Limit Label\]\([^)]*\):\*\*\s*`([^`]+)`")
ENDPOINTS = [(s.name, e) for s in STREAMS for e in s.endpoints]
TIME_TYPES = ("TIMESTAMPTZ", "DATE")


def test_every_stream_has_a_contract_for_each_of_its_tables() -> None:
    contracts = load_contracts()
    for stream in STREAMS:
        for table in stream.tables:
            assert table in contracts, f"stream {stream.name}: no contract schemas/tables/{table}.toml"
            assert contracts[table].stream == stream.name, (
                f"{table}.toml names stream {contracts[table].stream}"
            )
    # One table is fed by no stream of the registry: Zoom's webhook events, which the sync reads from
    # the receiver's spool (etl.webhooks), not from Zoom's API. Any other is a stream the registry lacks.
    streams = {c.stream for c in contracts.values()} - {EVENTS}
    assert streams <= set(BY_NAME), f"contracts for streams the registry lacks: {streams - set(BY_NAME)}"
    assert EVENTS not in BY_NAME and contracts[EVENTS].stream == EVENTS


def test_every_fact_table_names_its_time_column() -> None:
    for contract in load_contracts().values():
        if contract.kind == "fact":
            assert contract.time_column, f"{contract.table}: a fact table without time_column"
            column = contract.column(contract.time_column)
            assert column.type in TIME_TYPES, f"{contract.table}.{column.name} is {column.type}, not a time"


def test_every_child_stream_names_its_parent_key_in_its_contract() -> None:
    """The page context that carries the parent key lands in the column the contract calls parent_key; a
    keyed child's parent table has a time column, by which its unfinished keys are retried."""
    contracts = load_contracts()
    for stream in STREAMS:
        if stream.parent is None:
            continue
        assert stream.parent_param and stream.context_key, stream.name
        contract = contracts[stream.tables[0]]
        assert contract.parent_key, f"{contract.table}.toml: no parent_key for the child of {stream.parent}"
        sources = contract.column(contract.parent_key).sources
        assert stream.context_key in sources, (
            f"{contract.table}.{contract.parent_key} <- {stream.context_key}"
        )
    for stream in keyed_streams():
        assert stream.parent is not None
        parent = contracts[BY_NAME[stream.parent].tables[0]]
        assert parent.time_column, f"{parent.table}: no time_column to retry {stream.name}'s pending keys"


@pytest.mark.parametrize(("stream", "endpoint"), ENDPOINTS, ids=[f"{n}:{e.path}" for n, e in ENDPOINTS])
def test_endpoint_scopes_and_category_match_zoom_openapi(stream: str, endpoint: Any) -> None:
    """Classic scopes are the operation's ``security``; granular ones its ``x-granular-scopes`` where the
    file lists them, else the names the simulator refuses with (both written from Zoom's published names);
    the category is its "Rate Limit Label"."""
    from etl.simulator.rest import ROUTE_BY_TEMPLATE

    if endpoint.path in NEWER_THAN_THE_FILE:  # the documented exception (zoomspec)
        assert endpoint.path not in openapi()["paths"], f"{endpoint.path} is in the file: drop the exception"
        route = ROUTE_BY_TEMPLATE[endpoint.path]
        assert normalize_category(NEWER_THAN_THE_FILE[endpoint.path]) == endpoint.category == route.category
        assert endpoint.scopes and set(endpoint.scopes) == set(route.scopes), endpoint.path
        assert endpoint.granular and set(endpoint.granular) == set(route.granular), endpoint.path
        return
    operation = openapi()["paths"][endpoint.path]["get"]
    label = LABEL.search(operation["description"])
    assert label, endpoint.path
    assert normalize_category(label.group(1)) == endpoint.category, endpoint.path
    documented = {s for entry in operation["security"] for s in entry.get("openapi_oauth", [])}
    assert endpoint.scopes and set(endpoint.scopes) == documented, endpoint.path
    listed = operation.get("extensions", {}).get("x-granular-scopes")
    assert endpoint.granular, endpoint.path
    assert set(endpoint.granular) == set(listed or ROUTE_BY_TEMPLATE[endpoint.path].granular), endpoint.path


class RecordingScheduler(Scheduler):
    """The real scheduler, which also records every task it is given (tasks are ``functools.partial``
    objects: their ``name`` keyword is the stream they fetch)."""

    given: list[Callable[[Emit], None]]

    def __init__(self, lanes: Mapping[str, int]) -> None:
        super().__init__(lanes)
        self.given = []
        RecordingScheduler.last = self

    last: RecordingScheduler

    def submit(
        self, lane: str, fn: Callable[[Emit], None], *, depth: int = 0, groups: Iterable[Group] = ()
    ) -> None:
        self.given.append(fn)
        super().submit(lane, fn, depth=depth, groups=groups)

    def scheduled(self) -> set[str]:
        names: set[str] = set()
        for fn in self.given:
            assert isinstance(fn, partial), f"a task that is not a partial: {fn!r}"
            if fn.func is jobs.users_task:  # Zoom exception: on GraphQL it lists users with their meetings
                names.update((jobs.USERS, jobs.NESTED))
            elif "name" in fn.keywords:
                names.add(fn.keywords["name"])
        return names


def test_every_stream_is_scheduled_and_lands_pages(simulator: RunningSimulator) -> None:
    """A full extraction against the simulator: the scheduler is given a task for every stream of the
    registry (a stream the extraction forgets gets no task: no pages, no checkpoint, no error), and every
    stream emits pages."""
    account = sim_account(simulator)
    settings = Settings(accounts=(account,), rate_scale=simulator.config.rate_scale)
    with ZoomClient(account, settings) as client:
        events = list(
            extract(
                account,
                client,
                settings,
                {},
                streams=None,
                since=None,
                full_refresh=False,
                now=simulator.clock.now(),
                pending={},
                scheduler_type=RecordingScheduler,
            )
        )
    scheduled = RecordingScheduler.last.scheduled()
    missing = [s.name for s in STREAMS if s.name not in scheduled]
    assert not missing, f"never scheduled: {missing}"
    paged = {e.stream for e in events if isinstance(e, Page) and e.records}
    assert [s.name for s in STREAMS if s.name not in paged] == []


def test_children_are_derived_from_parents() -> None:
    assert [s.name for s in children_of("meeting_instances")] == ["meeting_participants"]
    assert {s.name for s in keyed_streams()} == {
        "meeting_participants",
        "webinar_participants",
        "webinar_absentees",
    }
    for stream in STREAMS:
        for child in children_of(stream.name):
            assert child.parent_param in {p for e in child.rest for p in e.placeholders}, child.name
