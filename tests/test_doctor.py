"""``zoom-etl doctor`` against the simulator on loopback, its pure checks, and its exit codes."""

from __future__ import annotations

import gzip
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from click.testing import CliRunner
from simenv import sim_account
from zoomspec import NEWER_THAN_THE_FILE, openapi

from etl.cli.doctor import doctor_command
from etl.config import AccountSettings, Secret, Settings
from etl.doctor import (
    GRANULAR_SCOPES,
    SCOPES,
    CheckResult,
    check_clock,
    check_limits,
    check_scopes,
    check_settings,
    exit_code,
    granular_token,
    run_doctor,
)
from etl.http import RateLimiter
from etl.simulator.app import GRANULAR_SCOPES as SIM_GRANULAR
from etl.simulator.oauth import ALL_SCOPES as SIM_CLASSIC
from etl.simulator.server import RunningSimulator
from etl.streams import BY_NAME, STREAMS

ORDER = ["settings", "oauth", "rest", "graphql", "scopes", "clock", "limits"]
WRONG_SECRET = "wrong-secret-7f3a9c"


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def test_all_checks_pass_on_pro(simulator: RunningSimulator) -> None:
    simulator.clock.set(datetime.now(UTC))  # the simulator's Date is its simulated clock: make it now
    results = run_doctor(Settings(accounts=(sim_account(simulator),)))
    assert [r.name for r in results] == ORDER
    checks = by_name(results)
    assert {name: r.status for name, r in checks.items()} == dict.fromkeys(ORDER, "ok"), results
    assert "expires in 60 min" in checks["oauth"].detail
    assert simulator.base_url in checks["oauth"].detail
    assert f"{len(BY_NAME)} stream(s) covered" in checks["scopes"].detail
    assert "medium 16/s" in checks["limits"].detail
    assert all(r.account_id == simulator.credentials["account_id"] for r in results[1:])
    assert exit_code(results) == 0


def test_graphql_unavailable_is_reported_on_the_free_plan(simulator_factory: Callable[..., Any]) -> None:
    sim = simulator_factory(plan="free")
    checks = by_name(run_doctor(Settings(accounts=(sim_account(sim),))))
    graphql = checks["graphql"]
    assert graphql.status == "warn"
    assert "paid account" in graphql.detail and "HTTP 403" in graphql.detail
    assert "fall back to REST" in graphql.detail
    assert checks["rest"].status == "ok" and checks["oauth"].status == "ok"
    assert "heavy 0.8/s" in checks["limits"].detail and "light 4,800/day" in checks["limits"].detail
    assert exit_code(checks.values()) == 0


def test_simulated_time_shows_as_clock_skew(simulator: RunningSimulator) -> None:
    simulator.clock.set(datetime.now(UTC) - timedelta(days=30))
    clock = by_name(run_doctor(Settings(accounts=(sim_account(simulator),))))["clock"]
    assert clock.status == "warn" and "behind the local clock" in clock.detail


def test_graphql_not_served_is_a_warning(simulator_factory: Callable[..., Any]) -> None:
    sim = simulator_factory(graphql=False)
    graphql = by_name(run_doctor(Settings(accounts=(sim_account(sim),))))["graphql"]
    assert graphql.status == "warn" and "HTTP 404" in graphql.detail


def test_wrong_secret_fails_oauth_and_is_never_shown(simulator: RunningSimulator) -> None:
    results = run_doctor(Settings(accounts=(sim_account(simulator, secret=WRONG_SECRET),)))
    checks = by_name(results)
    assert checks["oauth"].status == "fail" and "invalid_client" in checks["oauth"].detail
    assert "rest" not in checks and "scopes" not in checks  # nothing to ask without a token
    assert checks["limits"].status == "ok"
    assert exit_code(results) == 1
    assert WRONG_SECRET not in repr(results)


def test_missing_scopes_fail_and_name_the_streams(simulator_factory: Callable[..., Any]) -> None:
    sim = simulator_factory(scopes=("user:read:admin", "meeting:read:admin", "webinar:read:admin"))
    results = run_doctor(Settings(accounts=(sim_account(sim),)))
    scopes = by_name(results)["scopes"]
    assert scopes.status == "fail"
    assert "report:read:admin for meeting_instances" in scopes.detail
    assert "recording:read or recording:read:admin for recordings" in scopes.detail
    assert by_name(results)["rest"].status == "ok"
    assert exit_code(results) == 1


def test_only_enabled_streams_and_their_parents_count_for_scopes(
    simulator_factory: Callable[..., Any],
) -> None:
    sim = simulator_factory(scopes=("user:read:admin", "meeting:read:admin"))
    settings = Settings(accounts=(sim_account(sim),), streams=("meetings",))
    scopes = by_name(run_doctor(settings))["scopes"]
    assert scopes.status == "ok" and "2 stream(s) covered" in scopes.detail  # meetings + users


def test_scope_table_matches_zoom_openapi_and_covers_every_stream() -> None:
    from etl.simulator.rest import ROUTE_BY_TEMPLATE

    spec = openapi()
    for path, scopes in SCOPES.items():
        if path in NEWER_THAN_THE_FILE:  # the documented exception: the simulator's table instead
            assert set(scopes) == set(ROUTE_BY_TEMPLATE[path].scopes), path
            continue
        security = spec["paths"][path]["get"]["security"]
        documented = {scope for entry in security for scope in entry.get("openapi_oauth", [])}
        assert set(scopes) == documented, path
    used = {endpoint.path for stream in STREAMS for endpoint in stream.endpoints}
    assert used | {"/users"} == set(SCOPES)


def test_granular_scope_table_matches_zoom_openapi_and_the_simulator() -> None:
    """``x-granular-scopes`` where the file lists them; elsewhere the names the simulator refuses with
    (both tables are written from Zoom's published names: this keeps the two houses agreeing)."""
    from etl.simulator.rest import ROUTE_BY_TEMPLATE

    spec = openapi()
    documented_somewhere = 0
    for path, scopes in GRANULAR_SCOPES.items():
        operation = {} if path in NEWER_THAN_THE_FILE else spec["paths"][path]["get"]
        listed = operation.get("extensions", {}).get("x-granular-scopes")
        if listed:
            documented_somewhere += 1
            assert set(scopes) == set(listed), path
        assert set(scopes) == set(ROUTE_BY_TEMPLATE[path].granular), path
        assert all(granular_token((s,)) for s in scopes)
    assert documented_somewhere == 5  # the webinar operations
    assert set(GRANULAR_SCOPES) == set(SCOPES)
    assert not granular_token(s for names in SCOPES.values() for s in names)


@pytest.mark.parametrize("family", ["classic", "granular"])
def test_doctor_accepts_either_scope_family(simulator_factory: Callable[..., Any], family: str) -> None:
    sim = simulator_factory(scopes=family)
    scopes = by_name(run_doctor(Settings(accounts=(sim_account(sim),))))["scopes"]
    assert scopes.status == "ok", scopes.detail
    assert f"{len(BY_NAME)} stream(s) covered by the token's {family} scopes" in scopes.detail


def test_a_missing_granular_scope_is_named_in_the_granular_family(
    simulator_factory: Callable[..., Any],
) -> None:
    held = tuple(s for s in SIM_GRANULAR if s != "report:read:list_webinar_participants:admin")
    sim = simulator_factory(scopes=held)
    results = run_doctor(Settings(accounts=(sim_account(sim),)))
    scopes = by_name(results)["scopes"]
    assert scopes.status == "fail"
    assert (
        "missing (granular scopes): report:read:list_webinar_participants:admin for webinar_participants"
        in (scopes.detail)
    )
    assert "report:read:admin" not in scopes.detail
    assert exit_code(results) == 1


def test_check_scopes_grades_required_fallback_and_granular_scopes() -> None:
    participants = [BY_NAME["meeting_participants"]]
    status, detail = check_scopes(("report:read:admin",), participants)[1:]
    assert status == "warn" and "fallbacks of meeting_participants" in detail  # /past_meetings needs meeting
    assert check_scopes(("meeting:read:admin",), participants)[1] == "fail"
    granular = ("report:read:list_meeting_participants:admin",)
    status, detail = check_scopes(granular, participants)[1:]
    assert status == "warn"
    assert detail == (
        "missing (granular scopes): meeting:read:list_past_participants:admin or "
        "meeting:read:list_past_participants for fallbacks of meeting_participants"
    )
    both = (*granular, "meeting:read:list_past_participants:admin")
    assert check_scopes(both, participants)[1] == "ok"
    assert check_scopes(("report:read:list_meetings:admin",), participants)[1] == "fail"
    assert check_scopes(None, participants)[1:] == (
        "warn",
        "the token response lists no scope; scopes not checked",
    )


def test_an_optional_streams_missing_scope_is_a_warning(simulator_factory: Callable[..., Any]) -> None:
    """AI Companion summaries are optional: a token without their scope passes the doctor with a warning
    that names them (the sync records them as not synced)."""
    sim = simulator_factory(scopes=tuple(s for s in SIM_CLASSIC if not s.startswith("meeting_summary")))
    results = run_doctor(Settings(accounts=(sim_account(sim),)))
    scopes = by_name(results)["scopes"]
    assert scopes.status == "warn", scopes.detail
    assert "for the optional meeting_summaries (not synced)" in scopes.detail
    assert "meeting_summary:read:admin" in scopes.detail
    assert exit_code(results) == 0
    streams = [BY_NAME["meeting_instances"], BY_NAME["meeting_summaries"]]
    required = check_scopes(("report:read:admin",), streams)
    assert required[1] == "warn" and "optional meeting_summaries" in required[2]


def test_check_clock_warns_beyond_sixty_seconds() -> None:
    now = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    assert check_clock((format_datetime(now + timedelta(seconds=30), usegmt=True), now))[1] == "ok"
    status, detail = check_clock((format_datetime(now - timedelta(hours=3), usegmt=True), now))[1:]
    assert status == "warn" and "3.0 h behind" in detail
    assert check_clock(("not a date", now))[1] == "warn"
    assert "no answer" in check_clock(None, answered=False)[2]


def test_limits_match_what_the_rate_limiter_applies() -> None:
    account = AccountSettings("acct", "cid", Secret("s"), plan="business")
    settings = Settings(accounts=(account,), rate_share=0.5, rate_scale=2.0)
    status, detail = check_limits(account, settings)[1:]
    limiter = RateLimiter.for_plan("business", share=0.5, scale=2.0)
    assert status == "warn" and "exceeds Zoom's real limits" in detail  # rate_scale 2 on api.zoom.us
    assert f"light {limiter.rate('light'):g}/s" in detail and "heavy+resource-intensive 60,000/day" in detail
    budget = Settings(accounts=(account,), heavy_daily_budget=500)
    assert "heavy+resource-intensive 500/day (heavy_daily_budget)" in check_limits(account, budget)[2]


def test_settings_check_refuses_unknown_streams() -> None:
    account = AccountSettings("acct", "cid", Secret("s"))
    result = check_settings(Settings(accounts=(account,), streams=("users", "chats")))
    assert result.status == "fail" and "chats" in result.detail
    assert exit_code([result]) == 2


def test_clock_skew_is_read_from_the_api_date_header() -> None:
    """Through the transport seam: a Zoom whose clock runs two hours ahead."""
    ahead = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)

    def zoom(request: httpx.Request) -> httpx.Response:
        headers = {"Date": ahead}
        if request.url.path == "/oauth/token":  # compressed, as a CDN may send it
            body = {"access_token": "tok-abc123", "expires_in": 3599, "scope": "user:read:admin"}
            packed = gzip.compress(orjson.dumps(body))
            return httpx.Response(200, content=packed, headers={**headers, "Content-Encoding": "gzip"})
        if request.url.path == "/v2/users":
            return httpx.Response(200, json={"users": [], "total_records": 0}, headers=headers)
        edges = {"data": {"users": {"edges": [], "pageInfo": {"cursor": ""}}}}
        return httpx.Response(200, json=edges, headers=headers)

    account = AccountSettings("acct", "cid", Secret("s"), plan="pro")
    settings = Settings(accounts=(account,), streams=("users",))
    results = run_doctor(settings, transport=httpx.MockTransport(zoom))
    checks = by_name(results)
    assert checks["clock"].status == "warn" and "ahead of the local clock" in checks["clock"].detail
    assert "expires in 60 min" in checks["oauth"].detail
    assert "no api_url in the token response" in checks["oauth"].detail
    assert "https://api.zoom.us" in checks["oauth"].detail
    assert checks["scopes"].status == "ok"
    assert "tok-abc123" not in repr(results)


# ---- the command ---------------------------------------------------------------------------------------


def env_for(sim: RunningSimulator, *, secret: str | None = None) -> dict[str, str | None]:
    creds = sim.credentials
    return {
        "ZOOM_ACCOUNT_ID": creds["account_id"],
        "ZOOM_CLIENT_ID": creds["client_id"],
        "ZOOM_CLIENT_SECRET": secret or creds["client_secret"],
        "ZOOM_API_URL": sim.base_url,
        "ZOOM_OAUTH_URL": sim.oauth_url,
        "ZOOM_PLAN": sim.config.plan,
        "ZOOM_ETL_CONFIG": None,
        "ZOOM_ETL_STREAMS": None,
        "ZOOM_ETL_SOURCE": None,
    }


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """The command sets up the ``etl`` logger for the process; later tests expect it untouched."""
    logger = logging.getLogger("etl")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate = saved[0], saved[1]
    logger.setLevel(saved[2])


@pytest.fixture
def empty_config(tmp_path: Path) -> Path:
    path = tmp_path / "zoom-etl.toml"
    path.write_text("", encoding="utf-8")
    return path


def invoke(args: list[str], env: dict[str, str | None]) -> Any:
    return CliRunner().invoke(doctor_command, args, env=env, catch_exceptions=False)


def test_cli_exits_0_when_nothing_fails(simulator: RunningSimulator, empty_config: Path) -> None:
    result = invoke(["--config", str(empty_config)], env_for(simulator))
    assert result.exit_code == 0, result.output
    assert f"account {simulator.credentials['account_id']}" in result.stdout
    assert "ok    oauth" in result.stdout and "0 fail (exit 0)" in result.stdout


def test_cli_exits_1_on_a_wrong_secret_and_never_prints_it(
    simulator: RunningSimulator, empty_config: Path
) -> None:
    for extra in ([], ["--json"]):
        result = invoke(["--config", str(empty_config), *extra], env_for(simulator, secret=WRONG_SECRET))
        assert result.exit_code == 1
        assert WRONG_SECRET not in result.output and WRONG_SECRET not in result.stderr
    report = orjson.loads(result.stdout)
    oauth = next(c for c in report["checks"] if c["name"] == "oauth")
    assert report["exit_code"] == 1 and oauth["status"] == "fail"


def test_cli_never_prints_the_access_token(simulator: RunningSimulator, empty_config: Path) -> None:
    result = invoke(["--config", str(empty_config), "--json"], env_for(simulator))
    assert result.exit_code == 0
    issued = list(simulator.app.tokens._tokens)  # the simulator's own record of what it issued
    assert issued and not any(token in result.output for token in issued)


def test_cli_exits_2_on_bad_configuration(simulator: RunningSimulator, empty_config: Path) -> None:
    env = {**env_for(simulator), "ZOOM_PLAN": "gold"}
    result = invoke(["--config", str(empty_config), "--json"], env)
    assert result.exit_code == 2
    assert orjson.loads(result.stdout)["checks"] == [
        {
            "name": "settings",
            "status": "fail",
            "detail": "ZOOM_PLAN (environment): must be one of free, pro, business, enterprise, got 'gold'",
            "account_id": None,
        }
    ]
    result = invoke(["--config", str(empty_config.parent / "missing.toml")], env_for(simulator))
    assert result.exit_code == 2 and "not found" in result.stderr
    empty_config.write_text('streams = ["users", "chats"]\n', encoding="utf-8")
    result = invoke(["--config", str(empty_config)], env_for(simulator))
    assert result.exit_code == 2 and "unknown stream(s) chats" in result.stderr


def test_cli_checks_every_account(simulator_factory: Callable[..., Any], tmp_path: Path) -> None:
    good, free = simulator_factory(), simulator_factory(plan="free", seed=7)
    tables = []
    for sim, secret in ((good, None), (free, WRONG_SECRET)):
        creds = sim.credentials
        tables.append(
            "[[accounts]]\n"
            f'account_id = "{creds["account_id"]}"\nclient_id = "{creds["client_id"]}"\n'
            f'client_secret = "{secret or creds["client_secret"]}"\n'
            f'api_url = "{sim.base_url}"\noauth_url = "{sim.oauth_url}"\nplan = "{sim.config.plan}"\n'
        )
    config = tmp_path / "zoom-etl.toml"
    config.write_text("\n".join(tables), encoding="utf-8")
    env = {k: None for k in env_for(good)}
    result = invoke(["--config", str(config), "--json"], env)
    assert result.exit_code == 1
    checks = orjson.loads(result.stdout)["checks"]
    oauth = {c["account_id"]: c["status"] for c in checks if c["name"] == "oauth"}
    assert oauth == {good.credentials["account_id"]: "ok", free.credentials["account_id"]: "fail"}
    assert WRONG_SECRET not in result.output
