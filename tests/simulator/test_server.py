"""The simulator's server side: OAuth, tokens, rate limits, faults, control, GraphQL gate, determinism."""

from __future__ import annotations

import http.client
import socket
from datetime import timedelta

import pytest

from etl.simulator.faults import FaultSettings
from etl.simulator.ratelimit import RateLimiter


def test_oauth_issues_zoom_shaped_tokens(simulator, zoom_client) -> None:
    client = zoom_client(simulator, authenticate=False)
    status, _, body = client.oauth()
    assert status == 200
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["api_url"] == simulator.base_url and "report:read:admin" in body["scope"].split()
    assert client.get("/v2/users", token=body["access_token"])[0] == 200


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"secret": "wrong"}, "invalid_client"),
        ({"client_id": "someone-else"}, "invalid_client"),
        ({"account_id": "other-account"}, "invalid_request"),
    ],
)
def test_oauth_refuses_wrong_credentials(simulator, zoom_client, kwargs, error) -> None:
    status, _, body = zoom_client(simulator, authenticate=False).oauth(**kwargs)
    assert status == 400 and body["error"] == error
    if error == "invalid_client":
        assert body == {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}


def test_unknown_missing_and_expired_tokens_get_124(simulator_factory, zoom_client) -> None:
    sim = simulator_factory(token_ttl_s=0)
    client = zoom_client(sim)  # a token that is already past its lifetime
    expected = (401, {"code": 124, "message": "Invalid access token."})
    assert client.get("/v2/users")[::2] == expected
    assert client.get("/v2/users", token="made-up")[::2] == expected
    assert client.request("GET", "/v2/users")[::2] == expected


def test_a_new_token_can_invalidate_the_previous_one(simulator_factory, zoom_client) -> None:
    sim = simulator_factory(invalidate_previous_tokens=True)
    first = zoom_client(sim)
    second = zoom_client(sim)
    assert first.get("/v2/users")[0] == 401
    assert second.get("/v2/users")[0] == 200


def test_tokens_expire_on_demand_and_every_n_requests(simulator_factory, zoom_client) -> None:
    sim = simulator_factory(rate_limits=False, faults={"token_expiry_every": 3})
    client = zoom_client(sim)
    statuses = [client.get("/v2/users")[0] for _ in range(3)]
    assert statuses == [200, 200, 401]
    client.token = client.fetch_token()
    assert client.get("/v2/users")[0] == 200
    assert client.control("POST", "/_sim/tokens/expire") == (200, {"expired": 1})
    assert client.get("/v2/users")[0] == 401


def test_per_second_limit_answers_429_with_zoom_headers(simulator_factory, zoom_client) -> None:
    sim = simulator_factory(rate_scale=0.001)  # Medium on Pro: a burst of one call, then one per 50 s
    client = zoom_client(sim)
    status, headers, _ = client.get("/v2/users")
    assert status == 200 and headers["X-RateLimit-Category"] == "Medium"
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining"} <= set(headers)
    status, headers, body = client.get("/v2/users")
    assert status == 429
    assert body == {
        "code": 429,
        "message": "You have reached the maximum per-second rate limit for this API. Try again later.",
    }
    assert headers["X-RateLimit-Type"] == "QPS" and headers["X-RateLimit-Remaining"] == "0"
    assert int(headers["Retry-After"]) >= 1
    assert client.get(f"/v2/users/{sim.account.users(sim.clock.now())[0].id}")[0] == 200  # Light is separate
    stats = sim.stats()
    assert stats["rate_limited"] == 1 and stats["by_status"]["429"] == 1


def test_daily_cap_answers_429_until_the_simulated_day_turns(simulator_factory, zoom_client) -> None:
    sim = simulator_factory(plan="free", rate_scale=0.0001)  # Free: Medium 2,000/day → 1/day
    client = zoom_client(sim)
    assert client.get("/v2/users")[0] == 200
    status, headers, body = client.get("/v2/users")
    assert status == 429 and headers["X-RateLimit-Type"] == "Daily-limit"
    assert "daily rate limit" in body["message"]
    tomorrow = sim.clock.now().date() + timedelta(days=1)
    assert headers["Retry-After"] == f"{tomorrow.isoformat()}T00:00:00Z"
    sim.advance(days=1)
    # A fresh daily budget; the per-second bucket, scaled down as much, is what still says no.
    status, headers, _ = client.get("/v2/users")
    assert status == 429 and headers["X-RateLimit-Type"] == "QPS"


def test_pro_shares_one_daily_budget_between_heavy_and_resource_intensive(simulator) -> None:
    limiter = RateLimiter("pro", scale=0.0001, today=simulator.clock.now, monotonic=lambda: 0.0)
    assert limiter.charge("heavy").allowed  # combined cap 30,000 → 3
    limiter.charge("resource_intensive")
    assert limiter.limits()["heavy"]["daily"] == limiter.limits()["resource_intensive"]["daily"] == 3
    decision = limiter.charge("heavy", 2)
    assert not decision.allowed and decision.kind == "Daily-limit"


def test_limits_can_be_switched_off(simulator_factory, zoom_client) -> None:
    sim = simulator_factory(rate_scale=0.001, rate_limits=False)
    client = zoom_client(sim)
    assert {client.get("/v2/users")[0] for _ in range(5)} == {200}


def test_429_storm_then_recovery(simulator, zoom_client) -> None:
    client = zoom_client(simulator)
    simulator.set_faults(storm_requests=2)
    assert [client.get("/v2/users")[0] for _ in range(3)] == [429, 429, 200]


def test_server_errors_resets_truncation_and_holds_are_real(simulator_factory, zoom_client) -> None:
    sim = simulator_factory(rate_limits=False)
    client = zoom_client(sim)
    sim.set_faults(error_rate=1.0)
    status, _, body = client.get("/v2/users")
    assert status in (500, 502, 503) and body["code"] == status
    sim.set_faults(error_rate=0.0, reset_rate=1.0)
    with pytest.raises((ConnectionError, http.client.RemoteDisconnected)):
        client.get("/v2/users")
    client.close()
    sim.set_faults(reset_rate=0.0, truncate_rate=1.0)
    with pytest.raises(http.client.IncompleteRead):
        zoom_client(sim).get("/v2/users")
    sim.set_faults(truncate_rate=0.0, timeout_rate=1.0, timeout_s=60.0)
    slow = zoom_client(sim, timeout=0.3)
    with pytest.raises((TimeoutError, socket.timeout)):
        slow.get("/v2/users")
    injected = sim.stats()["faults_injected"]
    assert injected["error"] == injected["reset"] == injected["truncate"] == injected["timeout"] == 1


def test_fault_draws_replay_from_the_seed() -> None:
    from etl.simulator.faults import FaultInjector

    knobs = FaultSettings(error_rate=0.3, reset_rate=0.1, truncate_rate=0.1)
    runs = [[FaultInjector(knobs, seed=7).draw() for _ in range(1)] for _ in range(2)]
    first, second = FaultInjector(knobs, seed=7), FaultInjector(knobs, seed=7)
    assert [first.draw() for _ in range(200)] == [second.draw() for _ in range(200)]
    assert runs[0] == runs[1]


def test_fault_knobs_are_validated(simulator, zoom_client) -> None:
    client = zoom_client(simulator)
    assert client.control("POST", "/_sim/faults", {"error_rate": 2})[0] == 400
    assert client.control("POST", "/_sim/faults", {"no_such_knob": 1})[0] == 400
    status, state = client.control("POST", "/_sim/faults", {"error_rate": 0.25, "drift": True})
    assert status == 200 and state["error_rate"] == 0.25 and state["drift"] is True
    assert client.control("GET", "/_sim/faults")[1]["error_rate"] == 0.25


def test_control_clock_and_stats(simulator, zoom_client) -> None:
    client = zoom_client(simulator)
    start = simulator.clock.now()
    assert client.control("GET", "/_sim/clock") == (200, {"now": start.strftime("%Y-%m-%dT%H:%M:%SZ")})
    status, _ = client.control("POST", "/_sim/clock", {"advance_days": 1})
    assert status == 200 and simulator.clock.now() == start + timedelta(days=1)
    client.control("POST", "/_sim/clock", {"advance_seconds": 30})
    assert simulator.clock.now() == start + timedelta(days=1, seconds=30)
    client.control("POST", "/_sim/clock", {"now": "2026-12-01T00:00:00Z"})
    assert simulator.clock.now().isoformat() == "2026-12-01T00:00:00+00:00"
    assert client.control("POST", "/_sim/clock", {"backwards": 1})[0] == 400
    client.get("/v2/users")
    stats = client.control("GET", "/_sim/stats")[1]
    assert stats["by_endpoint"]["/v2/users"] == 1 and stats["by_category"] == {"medium": 1}
    assert client.control("POST", "/_sim/stats/reset")[0] == 200
    assert simulator.stats()["requests"] == 0
    assert client.control("GET", "/_sim/nothing")[0] == 404


def test_graphql_is_refused_on_free_plans_and_absent_when_disabled(simulator_factory, zoom_client) -> None:
    free = zoom_client(simulator_factory(plan="free"))
    status, _, body = free.graphql("{ users(first: 1) { edges { id } pageInfo { cursor } } }")
    assert status == 403 and body["code"] == 200
    off = zoom_client(simulator_factory(graphql=False))
    assert off.graphql("{ users(first: 1) { edges { id } } }")[0] == 404


def test_graphql_requests_reach_the_graphql_module_and_charge_per_field(simulator, zoom_client) -> None:
    client = zoom_client(simulator)
    status, _, body = client.graphql("{ users(first: 2) { edges { id } pageInfo { cursor } } }")
    assert status == 200 and len(body["data"]["users"]["edges"]) == 2
    assert sum(simulator.stats()["units_charged"].values()) >= 1


def _snapshot(sim, zoom_client) -> list[bytes]:
    client = zoom_client(sim)
    now = sim.clock.now()
    users = sim.account.users(now)
    instance = next(
        i for i in sim.account.instances_in_window(now - timedelta(days=28), now, now, reported_only=True)
    )
    paths = [
        "/v2/users?page_size=3",
        f"/v2/users/{users[0].id}/meetings",
        f"/v2/report/users/{users[0].id}/meetings?from={(now - timedelta(days=20)).date()}&to={now.date()}",
        f"/v2/report/meetings/{instance.id}/participants",
        "/v2/report/daily",
    ]
    out = []
    for path in paths:
        _, data = client.raw("GET", path, headers={"Authorization": f"Bearer {client.token}"})
        out.append(data)
    return out


def test_same_seed_config_and_clock_give_the_same_bytes(simulator_factory, zoom_client) -> None:
    first = simulator_factory(rate_limits=False)
    second = simulator_factory(rate_limits=False)
    first.advance(days=2)
    second.advance(days=2)
    assert _snapshot(first, zoom_client) == _snapshot(second, zoom_client)
    other = simulator_factory(rate_limits=False, seed=43)
    other.advance(days=2)
    assert _snapshot(other, zoom_client) != _snapshot(first, zoom_client)


def test_only_loopback_hosts_are_allowed(simulator_factory) -> None:
    with pytest.raises(ValueError, match="loopback"):
        simulator_factory(host="0.0.0.0")
