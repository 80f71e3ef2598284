"""Convergence: whatever a fault cost a run, at most two fault-free runs after it end with a warehouse
IDENTICAL to a clean sync (``table_diff``), and no run before that says "ok": each says "partial" (exit 3)
and ``zoom-etl status`` lists the outstanding gaps.

The faults, each at 5% and 30%: GraphQL partial errors (items dropped from a page), GraphQL requests
failing with no retry so streams fall back to REST mid-run, 5xx answers, connection resets and truncated
bodies (the last three retried by the client; whatever gets through is repaired by the gaps, or was never
lost). ``python -m bench.soak --convergence`` runs the same campaign over more seeds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import References, sync_here
from reliability_kit import assert_same_data, table_diff

from bench.soak import CLEAN_RUNS, CONVERGENCE_FAULTS
from etl.simulator.server import RunningSimulator
from etl.status import read_status

CASES = [
    pytest.param(name, rate, marks=[pytest.mark.slow] if rate > 0.1 else [], id=f"{name} {rate:.0%}")
    for name in CONVERGENCE_FAULTS
    for rate in (0.05, 0.30)
]


def fell_back_users(history: list[dict[str, Any]], diff: dict[str, str]) -> bool:
    """Known limit: when ``users`` itself falls back, REST's rows (they carry ``language`` and
    ``login_type_created_at``, GraphQL's do not) are a version in ``users_history``; the next GraphQL run
    closes it with GraphQL's. The core tables converge; the history keeps one more closed version per
    user, and nothing less. True when that is all that differs after a fault-free run (no later run can
    change it: it is history, and the run may rightly say ok)."""
    if len(history) < 2 or set(diff) != {"users_history"}:
        return False
    return " 0 only right" in diff["users_history"]


@pytest.mark.parametrize(("fault", "rate"), CASES)
def test_a_faulty_run_then_at_most_two_clean_runs_equal_a_clean_sync(
    fault: str,
    rate: float,
    references: References,
    fresh_sim: Callable[..., RunningSimulator],
    tmp_path: Path,
) -> None:
    knobs, flags = CONVERGENCE_FAULTS[fault](rate)
    sim = fresh_sim(faults=knobs)
    warehouse = tmp_path / "zoom.duckdb"
    history: list[dict[str, Any]] = []
    faulty_sources: dict[str, str] = {}
    for attempt in range(1 + CLEAN_RUNS):
        result = sync_here(sim, warehouse, **(flags if attempt == 0 else {}))
        diff = table_diff(warehouse, references.full)
        gaps = read_status(warehouse).gaps
        history.append({"run": attempt, "status": result.status, "gaps": result.gaps, "diff": diff})
        if not diff and not result.gaps:
            break
        if fell_back_users(history, diff):
            break
        # Not there yet (data missing, or complete but with gaps still open: what REST served after a
        # fallback is read again with GraphQL): the run must not say ok. Partial says what is outstanding;
        # a run can also fail outright (a REST request past its retries): exit 1, and the next run starts
        # over from its state.
        assert result.exit_code in (1, 3), history
        if result.exit_code == 3:
            assert gaps and result.gaps, history
        if attempt == 0:
            faulty_sources = dict(result.sources)
        sim.set_faults(**{knob: 0.0 for knob in knobs})
    if history[-1]["diff"]:  # only users_history after a fallback of users (see fell_back_users)
        assert faulty_sources.get("users") == "rest", history
    else:
        assert_same_data(warehouse, references.full)
    final = history[-1]
    assert final["gaps"] == {}, history
    if final["run"] > 0:  # a fault-free run that completes the warehouse says so
        assert final["status"] == "ok", history
