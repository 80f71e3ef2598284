"""Faults: with the simulator injecting 5xx, resets, timeouts, truncated and malformed bodies, 429 storms
and token expiry, the sync completes with the same tables as a clean run, every fault costs exactly one
retry (bounded: no retry storms, no request given up), and the run's summary counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import References, sync_here
from reliability_kit import assert_same_data

from etl.simulator.server import RunningSimulator
from etl.warehouse.reader import open_read_only

# Seconds. Only the cases that inject timeouts shorten the client's timeouts (every one of them: connect,
# read, write, pool): elsewhere a loaded CI machine could time out a healthy request and blur the count.
CLIENT_TIMEOUT = 3.0
TIMEOUT_HOLD = 10.0  # how long the simulator holds a "timeout" request

CASES: dict[str, dict[str, Any]] = {
    "5xx 10%": {"error_rate": 0.10},
    "connection resets": {"reset_rate": 0.05},
    "timeouts": {"timeout_rate": 0.03, "timeout_s": TIMEOUT_HOLD},
    "truncated bodies": {"truncate_rate": 0.05},
    "malformed JSON": {"malformed_rate": 0.05},
    "429 storms": {"storm_every": 60, "storm_length": 5},
    # Several expiries per run, some while other requests are waiting or retrying: each refused token
    # is refreshed (a bounded number of times per request) and the request retried.
    "token expiry every 50 requests": {"token_expiry_every": 50},
    "all at once": {
        "error_rate": 0.10,
        "reset_rate": 0.03,
        "timeout_rate": 0.02,
        "timeout_s": TIMEOUT_HOLD,
        "truncate_rate": 0.03,
        "malformed_rate": 0.03,
        "storm_every": 80,
        "storm_length": 4,
        "token_expiry_every": 70,
    },
}


def _faults_seen(sim: RunningSimulator) -> dict[str, int]:
    stats = sim.stats()
    injected = dict(stats["faults_injected"])
    status = stats["by_status"]
    return {
        "failed_requests": sum(injected[k] for k in ("error", "reset", "timeout", "truncate", "malformed")),
        "429": int(status.get("429", 0)),
        "401": int(status.get("401", 0)),
        "token_expiry": injected["token_expiry"],
        "storm": injected["storm"],
    }


@pytest.mark.slow
@pytest.mark.parametrize("knobs", CASES.values(), ids=CASES.keys())
def test_sync_under_faults_completes_with_identical_tables(
    knobs: dict[str, Any],
    references: References,
    fresh_sim: Callable[..., RunningSimulator],
    tmp_path: Path,
) -> None:
    sim = fresh_sim(faults=knobs)
    warehouse = tmp_path / "zoom.duckdb"
    timeouts = bool(knobs.get("timeout_rate"))
    # With a fifth of the requests failing, six attempts run out once in some 10^4 requests: twelve make
    # giving up unseen here, and the test is about each fault being retried, not about the budget.
    flags: dict[str, Any] = {"retry_attempts": 12, **({"timeout": CLIENT_TIMEOUT} if timeouts else {})}
    result = sync_here(sim, warehouse, **flags)
    seen = _faults_seen(sim)
    assert result.status == "ok", (result.as_dict(), seen)
    assert_same_data(warehouse, references.full)

    # Something was injected, and each injected fault was retried exactly once: a 5xx, reset, timeout,
    # truncated or malformed body, a 429, a 401 after a token expiry. Nothing else was retried (with short
    # client timeouts, a slow machine may add a few genuine timeouts of its own).
    # Every injected fault is retried; a loaded machine (the suite runs on two workers) adds a few retries
    # of its own: genuine timeouts and refused connections, never more than a small share of the requests.
    faults = seen["failed_requests"] + seen["429"] + seen["401"]
    assert faults > 0, seen
    extra = sim.stats()["requests"] // (10 if timeouts else 50)
    assert faults <= result.retries <= faults + extra, (result.as_dict(), seen)
    assert result.throttled == seen["429"], (result.as_dict(), seen)
    if knobs.get("storm_every"):
        assert seen["storm"] > 0 and seen["429"] >= seen["storm"]
    if knobs.get("token_expiry_every"):
        assert seen["token_expiry"] > 0 and seen["401"] > 0
    summary = result.as_dict()
    assert summary["retries"] == result.retries and summary["throttled"] == result.throttled
    with open_read_only(warehouse) as conn:  # the run log in the warehouse counts them too
        logged = conn.execute("SELECT retries, throttled FROM _etl.runs WHERE run_id = ?", [result.run_id])
        assert logged.fetchall() == [(result.retries, result.throttled)]


@pytest.mark.slow
def test_a_server_that_keeps_failing_ends_the_run_with_exit_1_and_keeps_what_was_committed(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    """Retries are bounded: with every answer a 503, the run gives up (exit 1, status failed) instead of
    retrying forever, and a later run against a healthy server completes the warehouse."""
    sim = fresh_sim(faults={"error_rate": 1.0})
    warehouse = tmp_path / "zoom.duckdb"
    result = sync_here(sim, warehouse, retry_attempts=3)
    assert (result.status, result.exit_code) == ("failed", 1), result.as_dict()
    assert "HTTP 50" in result.error and "secret" not in result.error.lower()
    requests = sim.stats()["requests"]
    assert result.retries <= 2 * requests  # 3 attempts per request at most
    sim.set_faults(error_rate=0.0)
    healed = sync_here(sim, warehouse)
    assert healed.status == "ok", healed.as_dict()
    assert_same_data(warehouse, references.full)
