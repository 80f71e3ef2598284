"""Extraction against the simulator over loopback, with the real ``ZoomClient``.

Expected values come from the simulator's generated account (``sim.account``), never from what the
extractor returned.
"""

from __future__ import annotations

import shutil
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from simenv import sim_account

from etl.config import Settings
from etl.errors import ConfigError
from etl.extract import extract
from etl.extract.windows import report_floor
from etl.http.client import ZoomClient
from etl.plan import plan
from etl.records import Checkpoint, Gap, Page, Skip, SourceChoice
from etl.simulator.server import RunningSimulator
from etl.sources.graphql import QUERIES_DIR, SCHEMA_PATH, Documents

SCALE = 20.0  # rate limits x20 on both sides: the same pacing logic, tests 20x faster


@pytest.fixture
def fast(simulator_factory: Callable[..., RunningSimulator]) -> RunningSimulator:
    return simulator_factory(rate_scale=SCALE)


@dataclass
class Result:
    pages: list[Page] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    choices: list[SourceChoice] = field(default_factory=list)
    checkpoints: list[Checkpoint] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    client_requests: int = 0

    def records(self, stream: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        return [(r, p.context) for p in self.pages if p.stream == stream for r in p.records]

    def states(self) -> dict[str, dict[str, Any]]:
        return {c.stream: c.state for c in self.checkpoints}

    def done_keys(self, stream: str) -> set[str]:
        return {k for c in self.checkpoints if c.stream == stream for k in c.done_keys}


def sync(
    sim: RunningSimulator,
    *,
    source: str = "auto",
    streams: Sequence[str] | None = None,
    states: Mapping[str, dict[str, Any]] | None = None,
    pending: Mapping[str, Sequence[str]] | None = None,
    documents: Documents | None = None,
) -> Result:
    account = sim_account(sim)
    settings = Settings(accounts=(account,), default_source=source, rate_scale=sim.config.rate_scale)
    result = Result()
    with ZoomClient(account, settings) as client:
        events = extract(
            account,
            client,
            settings,
            states or {},
            streams=streams,
            since=None,
            full_refresh=False,
            now=sim.clock.now(),
            pending=pending or {},
            documents=documents,
        )
        for event in events:
            if isinstance(event, Page):
                result.pages.append(event)
            elif isinstance(event, Skip):
                result.skips.append(event)
            elif isinstance(event, SourceChoice):
                result.choices.append(event)
            elif isinstance(event, Gap):
                result.gaps.append(event)
            else:
                result.checkpoints.append(event)
        result.client_requests = client.stats.requests
    return result


def expected_instances(sim: RunningSimulator) -> list[Any]:
    now = sim.clock.now()
    floor = report_floor(now.date())
    start = datetime(floor.year, floor.month, floor.day, tzinfo=UTC)
    return sim.account.instances_in_window(start, now + timedelta(days=1), now, reported_only=True)


def participants_by_instance(result: Result) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record, context in result.records("meeting_participants"):
        found[context["meeting_uuid"]].append(record)
    return found


def assert_participants_complete(sim: RunningSimulator, result: Result, instances: list[Any]) -> None:
    """Every instance's every join segment is there, under its own instance UUID."""
    found = participants_by_instance(result)
    now = sim.clock.now()
    for instance in instances:
        expected = sim.account.participants(instance, now)
        got = found.get(instance.uuid, [])
        assert Counter((p["user_id"], p["join_time"]) for p in got) == Counter(
            (p.user_id, p.join_time.strftime("%Y-%m-%dT%H:%M:%SZ")) for p in expected
        ), instance.uuid
    assert result.done_keys("meeting_participants") >= {i.uuid for i in instances}


@pytest.mark.parametrize("source", ["graphql", "rest"])
def test_full_sync_fetches_every_instance_and_participant(fast: RunningSimulator, source: str) -> None:
    result = sync(fast, source=source)
    instances = expected_instances(fast)
    if source == "rest":  # Zoom's report lists only meetings with two or more participants
        instances = [i for i in instances if i.participants_count >= 2]
    listed = {r["uuid"] for r, _ in result.records("meeting_instances")}
    assert listed == {i.uuid for i in instances}
    assert_participants_complete(fast, result, instances)
    tricky = [i.uuid for i in instances if i.uuid.startswith("/") or "//" in i.uuid]
    assert tricky, "the tiny account should have UUIDs that need double encoding"
    assert all(participants_by_instance(result)[uuid] for uuid in tricky)
    recurring = defaultdict(set)
    for instance in instances:
        recurring[instance.id].add(instance.uuid)
    assert any(len(uuids) > 1 for uuids in recurring.values())
    rejoins = Counter(
        (ctx["meeting_uuid"], r["user_id"]) for r, ctx in result.records("meeting_participants")
    )
    assert max(rejoins.values()) > 1, "rejoin segments are separate rows"
    users = {r["id"] for r, _ in result.records("users")}
    assert users == {u.id for u in fast.account.users(fast.clock.now())}
    assert {c.source for c in result.choices if c.stream == "meeting_instances"} == {source}
    assert not result.skips
    stats = fast.stats()
    assert set(stats["by_status"]) == {"200"}, stats["by_status"]  # no 300s: windows within Zoom's limits
    assert stats["rate_limited"] == 0


def test_free_plan_uses_rest_without_asking_graphql(
    simulator_factory: Callable[..., RunningSimulator],
) -> None:
    sim = simulator_factory(plan="free", rate_scale=SCALE)
    result = sync(sim, streams=["users", "meetings"])
    reasons = {c.stream: c.reason for c in result.choices}
    assert all("free plan" in reasons[name] for name in ("users", "meetings"))
    assert "/v3/graphql" not in sim.stats()["by_endpoint"]
    assert {r["id"] for r, _ in result.records("users")} == {u.id for u in sim.account.users(sim.clock.now())}
    # Zoom's reports need Pro or higher (code 200 on Free): a stream only reports serve, asked for by name,
    # is a usage error before any request (by default it is recorded as not synced: tests/pipeline).
    before = sim.stats()["requests"]
    with pytest.raises(ConfigError, match="daily_usage cannot be synced: free plan"):
        sync(sim, streams=["daily_usage"])
    assert sim.stats()["requests"] == before


def test_graphql_refused_on_free_plan_falls_back_to_rest(
    simulator_factory: Callable[..., RunningSimulator],
) -> None:
    sim = simulator_factory(plan="free", rate_scale=SCALE)
    result = sync(sim, source="graphql", streams=["users"])
    fallback = [c for c in result.choices if c.source == "rest" and c.reason.startswith("fallback")]
    assert fallback and "paid account" in fallback[0].reason
    assert {r["id"] for r, _ in result.records("users")} == {u.id for u in sim.account.users(sim.clock.now())}
    assert result.states()["users"]["source"] == "rest"


def test_server_side_validation_error_falls_back_to_rest(fast: RunningSimulator, tmp_path: Path) -> None:
    """Our schema says User has ``nickname``; the server's does not: it answers "Cannot query field"."""
    queries = tmp_path / "queries"
    shutil.copytree(QUERIES_DIR, queries)
    users_query = (
        (queries / "users.graphql")
        .read_text()
        .replace("      verified\n", "      verified\n      nickname\n")
    )
    (queries / "users.graphql").write_text(users_query)
    schema = tmp_path / "zoom.graphql"
    schema.write_text(
        SCHEMA_PATH.read_text().replace("  verified: Int #", "  nickname: String\n  verified: Int #", 1)
    )
    result = sync(fast, streams=["users"], documents=Documents(queries, schema))
    fallback = [c for c in result.choices if c.stream == "users" and c.source == "rest"]
    assert fallback and "Cannot query field" in fallback[0].reason
    now = fast.clock.now()
    assert {r["id"] for r, _ in result.records("users")} == {u.id for u in fast.account.users(now)}


def test_incremental_run_after_one_day_fetches_only_new_data(fast: RunningSimulator) -> None:
    first = sync(fast)
    first_stats = fast.stats()
    fast.advance(days=1)
    fast.reset_stats()
    second = sync(fast, states=first.states())
    stats = fast.stats()
    assert stats["requests"] < first_stats["requests"] / 3, (stats["requests"], first_stats["requests"])
    heavy_first, heavy_second = first_stats["units_charged"]["heavy"], stats["units_charged"]["heavy"]
    assert heavy_second < heavy_first / 4
    old = {ctx["meeting_uuid"] for _, ctx in first.records("meeting_participants")}
    new_instances = {i.uuid for i in expected_instances(fast)} - old
    fetched_again = {ctx["meeting_uuid"] for _, ctx in second.records("meeting_participants")}
    assert new_instances <= fetched_again  # every new instance got its participants
    assert len(fetched_again - new_instances) <= len(new_instances) + 2  # few re-fetches: changed ones only
    assert_participants_complete(
        fast, second, [i for i in expected_instances(fast) if i.uuid in new_instances]
    )


def test_pending_keys_are_fetched_and_a_deleted_meeting_is_a_skip(fast: RunningSimulator) -> None:
    instance = next(i for i in expected_instances(fast) if i.participants_count >= 2)
    pending = {"meeting_participants": [instance.uuid, "/gone//meeting=="]}
    result = sync(fast, source="rest", streams=["meeting_participants"], pending=pending)
    assert instance.uuid in result.done_keys("meeting_participants")
    skipped = [s for s in result.skips if "/gone//meeting==" in s.resource]
    assert len(skipped) == 1 and skipped[0].status == 404
    assert "/gone//meeting==" not in result.done_keys("meeting_participants")


def test_dry_run_plan_counts_users_and_reads_the_daily_usage_report(fast: RunningSimulator) -> None:
    account = sim_account(fast, plan="pro")
    settings = Settings(accounts=(account,), rate_scale=SCALE)
    with ZoomClient(account, settings) as client:
        result = plan(
            account, client, settings, {}, streams=None, since=None, full_refresh=False, now=fast.clock.now()
        )
    endpoints = fast.stats()["by_endpoint"]
    by_name = {s.stream: s for s in result.streams}
    assert len(by_name["meeting_instances"].windows) >= 6
    months = len({w[:7] for w in by_name["meeting_participants"].windows})
    assert set(endpoints) - {"/oauth/token"} == {"/v2/users", "/v2/report/daily"}
    assert endpoints["/v2/report/daily"] == months  # one call per month of the windows
    assert result.users == len(fast.account.users(fast.clock.now()))
    assert result.calls["heavy"] > 0 and result.wall_seconds > 0
    participants = by_name["meeting_participants"]
    assert participants.basis.startswith("daily usage report")
    assert 0 < participants.calls["heavy"] <= participants.calls_high["heavy"]


def test_backfill_since_is_checkpointed_window_by_window_and_names_what_zoom_forgot(
    fast: RunningSimulator,
) -> None:
    today = fast.clock.now().date()
    since = today - timedelta(days=400)
    account = sim_account(fast, plan="pro")
    settings = Settings(accounts=(account,), rate_scale=SCALE)
    with ZoomClient(account, settings) as client:
        events = list(
            extract(
                account,
                client,
                settings,
                {},
                streams=["daily_usage"],
                since=since,
                full_refresh=False,
                now=fast.clock.now(),
                pending={},
            )
        )
    skips = [e for e in events if isinstance(e, Skip)]
    assert len(skips) == 1 and skips[0].resource.startswith(since.isoformat())
    checkpoints = [e for e in events if isinstance(e, Checkpoint)]
    assert len(checkpoints) == 7  # one per month window, each held until its window is fetched
    final = checkpoints[-1].state
    assert final["watermark"] == today.isoformat()
    assert final["backfill"] == {"since": since.isoformat(), "through": today.isoformat()}
    days = {r["date"] for e in events if isinstance(e, Page) for r in e.records}
    floor = report_floor(today)
    assert {d.date.isoformat() for m in range(7) for d in _daily(fast, floor, m)} <= days


def _daily(sim: RunningSimulator, floor: Any, offset: int) -> list[Any]:
    from etl.extract.windows import add_months

    month = add_months(floor.replace(day=1), offset)
    return [d for d in sim.account.daily_usage(month.year, month.month, sim.clock.now()) if d.date >= floor]


def test_graphql_partial_errors_lose_nothing_silently(
    simulator_factory: Callable[..., RunningSimulator],
) -> None:
    sim = simulator_factory(rate_scale=SCALE, faults={"graphql_partial_error_rate": 0.3})
    result = sync(sim, source="graphql", streams=["meeting_instances"])
    expected = {i.uuid for i in expected_instances(sim)}
    listed = {r["uuid"] for r, _ in result.records("meeting_instances")}
    named = {
        s.resource.rsplit("(", 1)[-1].rstrip(")") for s in result.skips if s.stream == "meeting_instances"
    }
    assert listed <= expected
    assert expected - listed == named - listed  # every instance missing is named in a Skip
    assert all("edges[" in s.resource and s.reason for s in result.skips)


def test_an_instance_whose_participants_came_back_partial_is_not_marked_done(
    simulator_factory: Callable[..., RunningSimulator],
) -> None:
    """Its dropped participants are named in skips and fetched again by the next run (not marked done)."""
    sim = simulator_factory(rate_scale=SCALE, faults={"graphql_partial_error_rate": 0.3})
    result = sync(sim, source="graphql", streams=["meeting_instances", "meeting_participants"])
    partial = {
        s.resource.split(": ", 1)[0].removeprefix("meeting_uuid ")
        for s in result.skips
        if s.stream == "meeting_participants"
    }
    assert partial, "the fault rate must leave some participant page partial"
    done = result.done_keys("meeting_participants")
    assert done and not partial & done


def test_faults_and_storms_still_give_complete_data(
    simulator_factory: Callable[..., RunningSimulator],
) -> None:
    sim = simulator_factory(
        rate_scale=SCALE,
        faults={
            "error_rate": 0.1,
            "reset_rate": 0.03,
            "storm_every": 40,
            "storm_length": 3,
            "token_expiry_every": 50,
        },
    )
    result = sync(sim, source="rest", streams=["meeting_participants"])
    instances = [i for i in expected_instances(sim) if i.participants_count >= 2]
    assert_participants_complete(sim, result, instances)
    assert sum(sim.stats()["faults_injected"].values()) > 0


def test_meetings_nested_under_users_never_keep_a_field_an_error_nulled(
    simulator_factory: Callable[..., RunningSimulator],
) -> None:
    """A user whose nested meetings carry an error has them fetched again whole: no meeting is kept with
    a field the error nulled (it would overwrite a good value downstream)."""
    clean = sync(simulator_factory(rate_scale=SCALE), source="graphql", streams=["users", "meetings"])
    reference = {r["id"]: r for r, _ in clean.records("meetings")}
    sim = simulator_factory(rate_scale=SCALE, faults={"graphql_partial_error_rate": 0.3})
    result = sync(sim, source="graphql", streams=["users", "meetings"])
    got = {r["id"]: r for r, _ in result.records("meetings")}
    assert got and set(got) <= set(reference)
    assert [i for i, r in got.items() if r != reference[i]] == []
