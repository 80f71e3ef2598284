"""The sync end to end: the real simulator over loopback, the real pipeline, a real DuckDB file."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from etl.config import Settings
from etl.errors import ConfigError
from etl.extract.windows import report_floor
from etl.pipeline import SyncOptions, plan_sync, sync
from etl.rebuild import rebuild
from etl.simulator.generate_participants import recording_of
from etl.simulator.model import User
from etl.simulator.rest.errors import ApiError
from etl.simulator.server import RunningSimulator
from etl.streams import STREAMS
from etl.warehouse import Warehouse
from etl.warehouse.reader import open_read_only

ALL_TABLES = {table for stream in STREAMS for table in stream.tables}
BOOKKEEPING = ("_run_id", "_synced_at")


def snapshot(path: Path, table: str, exclude: tuple[str, ...] = ()) -> set[tuple[object, ...]]:
    """A table's rows without the columns that say which run wrote them (and ``exclude``)."""
    with open_read_only(path) as conn:
        columns = [
            c
            for (c,) in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'zoom'"
                " AND table_name = ? ORDER BY ordinal_position",
                [table],
            ).fetchall()
            if c not in BOOKKEEPING and c not in exclude
        ]
        quoted = ", ".join(f'"{c}"' for c in columns)
        return set(conn.execute(f"SELECT {quoted} FROM zoom.{table}").fetchall())


def count(path: Path, sql: str) -> int:
    with open_read_only(path) as conn:
        return int(conn.execute(sql).fetchone()[0])  # type: ignore[index]


def test_full_sync_fills_every_table_and_records_the_run(
    simulator: RunningSimulator, settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = settings_for(simulator)
    result = sync(settings)
    assert result.status == "ok" and result.exit_code == 0, result.error
    assert set(result.rows) == ALL_TABLES
    assert all(result.rows[t] > 0 for t in ALL_TABLES), result.rows
    wh = settings.warehouse
    assert count(wh, "SELECT count(*) FROM _etl.runs WHERE status = 'ok'") == 1
    streams = count(wh, "SELECT count(DISTINCT stream) FROM _etl.state")
    assert streams == len(STREAMS)
    # GraphQL served what the schema models; REST the rest, and the choice is recorded per stream.
    assert result.sources["users"] == "graphql"
    assert result.sources["webinars"] == "rest"
    # Every row carries the account and the run.
    account = simulator.credentials["account_id"]
    for table in ALL_TABLES:
        assert count(wh, f"SELECT count(*) FROM zoom.{table} WHERE account_id <> '{account}'") == 0
        assert count(wh, f"SELECT count(*) FROM zoom.{table} WHERE _run_id <> '{result.run_id}'") == 0
    # Neither webinar instance source names the host: it comes from the webinar that led to the instance.
    hosts = "SELECT count(*) FROM zoom.webinar_instances i JOIN zoom.webinars w USING (id) WHERE i.host_id "
    assert count(wh, hosts + "= w.host_id") == count(wh, "SELECT count(*) FROM zoom.webinar_instances") > 0


def test_participants_match_the_account_for_every_reported_instance(
    simulator: RunningSimulator, settings_for: Callable[..., Settings]
) -> None:
    """Every instance of every recurring meeting keeps its own participants; segments never collapse."""
    settings = settings_for(simulator)
    assert sync(settings).exit_code == 0
    account, now = simulator.account, simulator.clock.now()
    with open_read_only(settings.warehouse) as conn:
        loaded = dict(
            conn.execute("SELECT meeting_uuid, count(*) FROM zoom.meeting_participants GROUP BY 1").fetchall()
        )
        instances = [r[0] for r in conn.execute("SELECT uuid FROM zoom.meeting_instances").fetchall()]
    assert instances
    for uuid in instances:
        instance = account.instance(uuid, now)
        assert instance is not None
        assert loaded.get(uuid, 0) == len(account.participants(instance, now)), uuid
    recurring = [i for i in instances if account.instance(i, now).type == 8]  # type: ignore[union-attr]
    assert len(recurring) >= 2


def test_second_sync_without_new_data_changes_nothing(
    simulator: RunningSimulator, settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for(simulator)
    assert sync(settings).exit_code == 0
    before = {t: snapshot(settings.warehouse, t) for t in ALL_TABLES}
    history = snapshot(settings.warehouse, "users_history")
    assert sync(settings).exit_code == 0
    assert {t: snapshot(settings.warehouse, t) for t in ALL_TABLES} == before
    assert snapshot(settings.warehouse, "users_history") == history


def test_incremental_sync_after_a_day_fetches_only_new_data(
    simulator: RunningSimulator, settings_for: Callable[..., Settings]
) -> None:
    settings = settings_for(simulator)
    full = sync(settings)
    before = count(settings.warehouse, "SELECT count(*) FROM zoom.meeting_instances")
    simulator.advance(days=1)
    simulator.reset_stats()
    incremental = sync(settings)
    assert incremental.exit_code == 0
    after = count(settings.warehouse, "SELECT count(*) FROM zoom.meeting_instances")
    expected_new = {
        i.uuid
        for i in simulator.account.instances_in_window(
            simulator.clock.now().replace(year=2000),
            simulator.clock.now(),
            simulator.clock.now(),
            reported_only=True,
        )
    }
    assert after > before
    assert after == len(expected_new)
    heavy_full = full.requests_by_category["heavy"]
    heavy_incremental = simulator.stats()["by_category"].get("heavy", 0)
    assert 0 < heavy_incremental < heavy_full / 3


def test_rest_only_sync_loads_the_same_participants(
    simulator_factory: Callable[..., RunningSimulator], settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    """GraphQL and REST give the same rows for the instances both can see. REST's report listing omits
    instances with a single participant (as Zoom's does), so GraphQL may see more, never fewer."""
    sim = simulator_factory()
    graphql = settings_for(sim, warehouse=tmp_path / "graphql.duckdb")
    rest = settings_for(sim, warehouse=tmp_path / "rest.duckdb", source="rest")
    assert sync(graphql).exit_code == 0
    result = sync(rest)
    assert result.exit_code == 0
    assert set(result.sources.values()) == {"rest"}
    rest_instances = {row[1] for row in snapshot(rest.warehouse, "meeting_instances")}
    graphql_instances = {row[1] for row in snapshot(graphql.warehouse, "meeting_instances")}
    assert rest_instances and rest_instances <= graphql_instances
    # The difference is exactly the meetings nobody but the host joined, and each row says who listed it.
    listing = "SELECT uuid, listed_by, participants_count FROM zoom.meeting_instances"
    with open_read_only(graphql.warehouse) as g, open_read_only(rest.warehouse) as r:
        by_graphql = {u: (by, n) for u, by, n in g.execute(listing).fetchall()}
        by_rest = {u: (by, n) for u, by, n in r.execute(listing).fetchall()}
    assert {by for by, _ in by_graphql.values()} == {"graphql"} and {by for by, _ in by_rest.values()} == {
        "rest"
    }
    alone = {u for u, (_, n) in by_graphql.items() if n is not None and n < 2}
    assert alone and set(by_graphql) - set(by_rest) == alone
    # Row tuples start (account_id, meeting_uuid, ...) for participants.
    rest_rows = snapshot(rest.warehouse, "meeting_participants")
    graphql_rows = {
        row for row in snapshot(graphql.warehouse, "meeting_participants") if row[1] in rest_instances
    }
    assert rest_rows and graphql_rows == rest_rows
    # The GraphQL model has no play/download URLs for recording files; everything else agrees.
    urls = ("play_url", "download_url")
    assert snapshot(graphql.warehouse, "recording_files", urls) == snapshot(
        rest.warehouse, "recording_files", urls
    )


@pytest.mark.parametrize("source", ["graphql", "rest"])
def test_recording_files_zoom_gives_no_id_are_kept_under_a_stable_key(
    simulator: RunningSimulator, settings_for: Callable[..., Settings], tmp_path: Path, source: str
) -> None:
    """Zoom gives CC and TIMELINE files no id: they were rejected on every run. Every file the account
    holds is a row, id-less ones keyed '<file_type>|<meeting_uuid>|<recording_start>', same after rebuild."""
    settings = settings_for(simulator, source=source)
    result = sync(settings)
    assert result.exit_code == 0 and result.rejects == 0, result.as_dict()
    wh = settings.warehouse
    account, now = simulator.account, simulator.clock.now()
    with open_read_only(wh) as conn:
        uuids = [
            u for (u,) in conn.execute("SELECT DISTINCT meeting_uuid FROM zoom.recording_files").fetchall()
        ]
        loaded = conn.execute("SELECT id, file_type, meeting_uuid FROM zoom.recording_files").fetchall()
    held = [f for u in uuids for f in recording_of(account.instance(u, now)).files]  # type: ignore[arg-type]
    assert len(loaded) == len(held)
    idless = [(i, u) for i, kind, u in loaded if kind == "TIMELINE"]
    assert idless and all(i.startswith(f"TIMELINE|{u}|20") and i.endswith("Z") for i, u in idless)
    before = snapshot(wh, "recording_files")
    with Warehouse.open(wh) as warehouse:
        rebuild(warehouse, ["recording_files"])
    assert snapshot(wh, "recording_files") == before


@pytest.mark.slow
@pytest.mark.parametrize("source", ["graphql", "rest"])
def test_webinars_that_ended_for_good_are_found_in_the_meeting_report(
    simulator_factory: Callable[..., RunningSimulator],
    settings_for: Callable[..., Settings],
    tmp_path: Path,
    source: str,
) -> None:
    """Webinars that ended for good drop out of GET /users/{id}/webinars; the per-user meeting report
    still lists their instances. On the demo account 6 of its 16 webinar instances (111 of 279 participant
    segments) were lost on every run, whichever source served the meetings."""
    sim = simulator_factory(profile="demo")
    account, now = sim.account, sim.clock.now()
    floor = datetime.combine(report_floor(now.date()), datetime.min.time(), UTC)
    held = {  # what the reports still hold: every host's ended webinar instances of the last six months
        w.uuid: w
        for m in account.members
        for w in account.webinar_instances_of_host(m.user.id, floor, now, now, reported_only=True)
        if w.end_time <= now
    }
    listed = {w.id for u in account.members for w in account.webinars(u.user.id, now)}
    assert {w.id for w in held.values()} - listed  # the account has webinars no listing shows any more
    settings = settings_for(sim, source=source)
    assert sync(settings).exit_code == 0
    with open_read_only(settings.warehouse) as conn:
        instances = dict(conn.execute("SELECT uuid, host_id FROM zoom.webinar_instances").fetchall())
        segments = dict(
            conn.execute("SELECT webinar_uuid, count(*) FROM zoom.webinar_participants GROUP BY 1").fetchall()
        )
    assert instances == {uuid: w.host_id for uuid, w in held.items()}
    assert segments == {uuid: len(account.webinar_participants(w, now)) for uuid, w in held.items()}


def test_users_are_complete_whether_graphql_lists_every_status_or_active_ones_only(
    simulator_factory: Callable[..., RunningSimulator], settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    """Zoom does not document whether GraphQL `users` without a status lists inactive and pending users.
    If it lists active ones only (as REST's GET /users does), nothing the product fetches per user may
    vanish: REST's per-status totals expose the difference and REST lists the rest."""
    every = simulator_factory()
    active_only = simulator_factory(graphql_users_status="active")
    complete = settings_for(every, warehouse=tmp_path / "every.duckdb")
    partial = settings_for(active_only, warehouse=tmp_path / "active.duckdb")
    assert sync(complete).exit_code == 0
    assert sync(partial).exit_code == 0
    statuses = "SELECT status, count(*) FROM zoom.users GROUP BY 1"
    with open_read_only(complete.warehouse) as conn:
        assert set(dict(conn.execute(statuses).fetchall())) == {"active", "inactive", "pending"}
    keys = {
        "users": "id, status",
        "meetings": "id",
        "meeting_instances": "uuid",
        "meeting_participants": "meeting_uuid, participant_key, join_time",
        "recordings": "meeting_uuid",
        "webinars": "id",
    }
    reasons = "SELECT reason FROM _etl.sources WHERE stream = 'users'"
    with open_read_only(complete.warehouse) as a, open_read_only(partial.warehouse) as b:
        for table, key in keys.items():
            rows = f"SELECT {key} FROM zoom.{table} ORDER BY ALL"
            assert a.execute(rows).fetchall() == b.execute(rows).fetchall(), table
        [(seen_all,)] = a.execute(reasons).fetchall()
        [(seen_active,)] = b.execute(reasons).fetchall()
    assert "listed with REST" not in seen_all and "inactive of" in seen_all
    assert seen_active.endswith("inactive and pending users listed with REST"), seen_active


def test_free_plan_falls_back_to_rest_and_says_why(
    simulator_factory: Callable[..., RunningSimulator], settings_for: Callable[..., Settings]
) -> None:
    sim = simulator_factory(plan="free")
    result = sync(settings_for(sim), SyncOptions(streams=("users",)))
    assert result.exit_code == 0
    assert result.sources == {"users": "rest"}
    with open_read_only(settings_for(sim).warehouse) as conn:
        reason = conn.execute("SELECT reason FROM _etl.sources WHERE stream = 'users'").fetchone()
    assert reason is not None and reason[0]


def test_a_free_account_syncs_what_zoom_serves_it_and_records_what_it_cannot(
    simulator_factory: Callable[..., RunningSimulator], settings_for: Callable[..., Settings]
) -> None:
    """Zoom's reports need Pro or higher (code 200 on Free): a default sync of a Free account used to fail
    on the first report request. The streams only reports serve are recorded as not synced, and why."""
    sim = simulator_factory(plan="free")
    settings = settings_for(sim)
    result = sync(settings)
    assert result.exit_code == 0, result.error
    reports_only = {
        "meeting_instances",
        "meeting_participants",
        "daily_usage",
        "sign_in_activity",
        "operation_logs",
    }
    assert not reports_only & set(result.rows)
    assert result.rows["users"] > 0 and result.rows["webinar_participants"] > 0  # past_webinars serves them
    with open_read_only(settings.warehouse) as conn:
        recorded = dict(
            conn.execute("SELECT stream, reason FROM _etl.sources WHERE source = 'none'").fetchall()
        )
    assert set(recorded) == reports_only and all("Pro or higher" in r for r in recorded.values())
    asked = sim.stats()["by_endpoint"]
    assert asked and not [e for e in asked if "/report/" in e], asked
    [planned] = plan_sync(settings)
    assert {s.stream for s in planned.streams if s.source == "none"} == reports_only
    asked = sync(settings, SyncOptions(streams=("users", "daily_usage")))  # asked for by name: a usage error
    assert (
        asked.exit_code == ConfigError.exit_code and "daily_usage cannot be synced: free plan" in asked.error
    )


def test_rest_gives_pending_users_their_ids_by_email(
    simulator_factory: Callable[..., RunningSimulator], settings_for: Callable[..., Settings], tmp_path: Path
) -> None:
    """Zoom lists pending users without an id; one Light lookup by email each gives it, so REST fills the
    users table as GraphQL does: no reject, exit 0, and the plan counts the lookups."""
    sim = simulator_factory()
    pending = {u.id for u in sim.account.users(sim.clock.now(), "pending")}
    assert pending, "the default profile must hold pending users"
    graphql = settings_for(sim, warehouse=tmp_path / "graphql.duckdb")
    rest = settings_for(sim, warehouse=tmp_path / "rest.duckdb", source="rest")
    [plan] = plan_sync(rest)  # users are counted when per-user streams need them
    assert next(p for p in plan.streams if p.stream == "users").calls.get("light") == len(pending)
    assert sync(graphql, SyncOptions(streams=("users",))).exit_code == 0
    sim.reset_stats()
    result = sync(rest, SyncOptions(streams=("users",)))
    assert result.exit_code == 0 and result.rejects == 0, result.as_dict()
    assert sim.stats()["by_endpoint"]["/v2/users/{userId}"] == len(pending)
    with open_read_only(rest.warehouse) as conn:
        loaded = {i for (i,) in conn.execute("SELECT id FROM zoom.users WHERE status = 'pending'").fetchall()}
        raw = conn.execute("SELECT count(*) FROM raw.pages WHERE stream = 'users'").fetchone()
    assert loaded == pending and raw is not None and raw[0] > 0
    ids = "SELECT id, email, status FROM zoom.users"
    with open_read_only(graphql.warehouse) as g, open_read_only(rest.warehouse) as r:
        assert set(g.execute(ids).fetchall()) == set(r.execute(ids).fetchall())
    # The ids are in raw.pages: a rebuild (no API call) keeps them.
    with Warehouse.open(rest.warehouse) as wh:
        rebuild(wh, ["users"])
        assert {
            i for (i,) in wh.conn.execute("SELECT id FROM zoom.users WHERE status = 'pending'").fetchall()
        } == pending
    # A sync that does not load users looks nobody up.
    sim.reset_stats()
    assert sync(rest, SyncOptions(streams=("meeting_instances",))).exit_code == 0
    assert "/v2/users/{userId}" not in sim.stats()["by_endpoint"]


@pytest.mark.parametrize(
    ("status", "code"),
    [(404, 1001), (400, 1120)],
    ids=["not found (the forum's anomaly)", "invitation expired"],
)
def test_a_pending_user_zoom_cannot_find_is_a_skip_and_a_reject(
    simulator_factory: Callable[..., RunningSimulator],
    settings_for: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    code: int,
) -> None:
    """A pending invitation whose lookup by email Zoom refuses (both errors of the OpenAPI's
    ``GET /users/{userId}``). The record stays as listed: a skip says which lookup failed, a reject keeps
    the payload, and the run exits 3 rather than failing."""
    sim = simulator_factory()
    lost = sim.account.users(sim.clock.now(), "pending")[0]
    find = sim.app.account.user  # what the server asks

    def user(key: str, now: datetime) -> User | None:
        if key == lost.email:
            raise ApiError(status, code, f"No valid invitation for {key}.")
        return find(key, now)

    monkeypatch.setattr(sim.app.account, "user", user)
    settings = settings_for(sim, source="rest")
    result = sync(settings, SyncOptions(streams=("users",)))
    assert (result.exit_code, result.rejects, result.skips) == (3, 1, 1), result.as_dict()
    with open_read_only(settings.warehouse) as conn:
        skip = conn.execute("SELECT resource, code FROM _etl.skips").fetchone()
        reject = conn.execute("SELECT table_name, column_name, payload FROM _etl.rejects").fetchone()
    assert skip == ("a pending user's id (GET /users/{email})", code)
    assert reject is not None and reject[:2] == ("users", "id") and lost.email in reject[2]


@pytest.mark.parametrize("source", ["auto", "rest"])
def test_dry_run_plans_without_writing(
    simulator: RunningSimulator, settings_for: Callable[..., Settings], source: str
) -> None:
    settings = settings_for(simulator, source=source)
    simulator.reset_stats()
    [plan] = plan_sync(settings)
    assert not settings.warehouse.exists()
    assert plan.calls.get("heavy", 0) > 0
    assert plan.wall_seconds > 0
    # Counting users, and the daily usage report that sizes the participants, is all the plan asks.
    assert set(simulator.stats()["by_endpoint"]) <= {"/oauth/token", "/v2/users", "/v2/report/daily"}
    assert plan.calls_high.get("heavy", 0) >= plan.calls["heavy"]
