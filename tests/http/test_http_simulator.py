"""ZoomClient against the real simulator on loopback: tokens that expire, 429s, faults at the socket level."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from simenv import sim_account
from zoomfakes import FakeClock

from etl.config import Settings, Timeouts
from etl.errors import AuthError, ResourceError
from etl.http import RetryPolicy, ZoomClient
from etl.simulator.server import RunningSimulator

FAST_RETRIES = RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.05)


def client_for(
    sim: RunningSimulator,
    *,
    secret: str | None = None,
    policy: RetryPolicy | None = None,
    clock: FakeClock | None = None,
    **settings: Any,
) -> ZoomClient:
    account = sim_account(sim, secret=secret)
    options: dict[str, Any] = {"rate_scale": sim.config.rate_scale, "max_concurrency": 8, **settings}
    timing: dict[str, Any] = {"clock": clock, "sleep": clock.sleep} if clock else {}
    return ZoomClient(
        account, Settings(accounts=(account,), **options), policy=policy or FAST_RETRIES, **timing
    )


def fetch_users(client: ZoomClient, n: int, threads: int = 8, category: str = "medium") -> list[int]:
    with ThreadPoolExecutor(threads) as pool:
        futures = [
            pool.submit(client.rest_get, "/users", {"page_size": 300}, category=category) for _ in range(n)
        ]
        return [f.result().status for f in futures]


def test_rest_and_graphql_round_trip(simulator: RunningSimulator) -> None:
    with client_for(simulator) as client:
        users = client.rest_get("/users", {"page_size": 300}, category="medium").json()["users"]
        body = client.graphql(
            "query($n: Int) { users(first: $n) { edges { id } pageInfo { cursor } } }",
            {"n": 2},
            category="medium",
        ).json()
    assert users and len(body["data"]["users"]["edges"]) == 2 and body["data"]["users"]["pageInfo"]["cursor"]


def test_token_expiry_mid_run_is_refreshed(simulator_factory: Callable[..., RunningSimulator]) -> None:
    # Every 15th request expires every token: 6 expiries over 90 requests. (Every 7th with 8 threads in
    # flight could refuse one request's fresh tokens 5 times running on a loaded machine: a real refusal.)
    sim = simulator_factory(rate_scale=10.0, faults={"token_expiry_every": 15})
    with client_for(sim) as client:
        assert fetch_users(client, 90) == [200] * 90
        simulator_expired = sim.expire_tokens()
        assert client.rest_get("/users", category="medium").status == 200
        stats = client.stats
    assert simulator_expired == 1
    assert stats.token_fetches >= 6 and stats.errors == 0
    assert sim.stats()["tokens_issued"] == stats.token_fetches


def test_steady_state_sends_no_429(simulator_factory: Callable[..., RunningSimulator]) -> None:
    """Paced at 80% of the limits the simulator enforces (same scale on both sides): not one 429."""
    sim = simulator_factory(rate_scale=10.0)
    with client_for(sim) as client:
        assert fetch_users(client, 120, threads=16, category="medium") == [200] * 120
        assert fetch_users(client, 40, threads=16, category="heavy") == [200] * 40
        stats = client.stats
    assert stats.throttled == 0 and sim.stats()["rate_limited"] == 0


def test_429s_under_tight_limits_end_in_zero_failures(
    simulator_factory: Callable[..., RunningSimulator],
) -> None:
    """The client believes in limits 8x the simulator's: 429s come, each is honoured, nothing fails."""
    sim = simulator_factory(rate_scale=1.0)  # /users is Medium: 20/s
    with client_for(sim, rate_scale=8.0, rate_share=1.0) as client:
        assert fetch_users(client, 60, threads=16, category="medium") == [200] * 60
        stats = client.stats
    assert stats.throttled > 0 and stats.errors == 0
    assert sim.stats()["rate_limited"] == stats.throttled


def test_429_storm_is_waited_out(simulator: RunningSimulator) -> None:
    with client_for(simulator) as client:
        client.rest_get("/users", category="medium")
        simulator.set_faults(storm_requests=2)
        assert client.rest_get("/users", category="medium").status == 200
        assert client.stats.throttled == 2


def test_a_429_without_headers_pauses_the_category_a_second(
    simulator_factory: Callable[..., RunningSimulator],
) -> None:
    """Some real 429s carry neither Retry-After nor X-RateLimit-*: the client pauses the category 1 s on
    its own schedule and retries."""
    sim = simulator_factory(rate_limits=False, faults={"storm_requests": 1, "bare_429_rate": 1.0})
    clock = FakeClock()
    with client_for(sim, clock=clock) as client:
        body = client.rest_get("/users", {"page_size": 1}, category="medium").json()
    assert body["users"]
    assert sim.stats()["rate_limited"] == 1 and sim.stats()["faults_injected"]["bare_429"] == 1
    assert max(clock.sleeps) == pytest.approx(1.0, abs=0.01), clock.sleeps


def test_5xx_resets_and_truncated_bodies_are_retried(
    simulator_factory: Callable[..., RunningSimulator],
) -> None:
    sim = simulator_factory(
        rate_scale=10.0, faults={"error_rate": 0.15, "reset_rate": 0.1, "truncate_rate": 0.1}
    )
    # About a third of the requests fail: 20 attempts make running out (p = 0.35**20 per request) unseen.
    with client_for(sim, policy=replace(FAST_RETRIES, max_attempts=20)) as client:
        assert fetch_users(client, 60) == [200] * 60
        stats = client.stats
    injected = sim.stats()["faults_injected"]
    assert injected["error"] > 0 and injected["reset"] > 0 and injected["truncate"] > 0
    assert stats.server_errors == injected["error"]
    assert stats.network_errors == injected["reset"] + injected["truncate"]
    assert stats.errors == 0


def test_held_requests_time_out_and_are_retried(simulator_factory: Callable[..., RunningSimulator]) -> None:
    sim = simulator_factory(rate_scale=10.0, faults={"timeout_rate": 0.2, "timeout_s": 3.0})
    with client_for(sim, timeouts=Timeouts(connect=2, read=0.3, write=2, pool=5)) as client:
        assert fetch_users(client, 16) == [200] * 16
        stats = client.stats
    assert stats.network_errors == sim.stats()["faults_injected"]["timeout"] > 0


def test_wrong_secret_is_auth_error_without_the_secret(
    simulator: RunningSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-Secret-4711"
    with client_for(simulator, secret=wrong) as client, pytest.raises(AuthError) as caught:
        client.rest_get("/users", category="medium")
    assert "invalid_client" in str(caught.value) and caught.value.status == 400
    assert wrong not in str(caught.value) and wrong not in caplog.text
    assert simulator.credentials["client_secret"] not in caplog.text


def test_unknown_meeting_is_resource_error(simulator: RunningSimulator) -> None:
    with client_for(simulator) as client, pytest.raises(ResourceError) as caught:
        client.rest_get("/past_meetings/%252Fnot%252F%252Fthere%253D%253D", category="light")
    assert caught.value.status in (400, 404) and caught.value.code in (3001, 12702)
    assert client.stats.retries == 0
