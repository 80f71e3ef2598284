"""Nothing lost: what a run could not fetch whole is fetched again by the next runs, until it is.

- Items GraphQL drops (partial errors that survive the page's retry) leave gaps in ``_etl.gaps``; the run
  is "partial" (exit 3) and ``status`` lists them; the next fault-free run fetches them, windows older
  than its lookback included, and ends identical to a clean sync, "ok".
- A stream that falls back from GraphQL to REST mid-run leaves what REST served as gaps (REST's reports
  leave out one-participant meetings and name other fields); the run says "partial", and the next run,
  on GraphQL again, re-reads that range and ends identical to a clean sync.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conftest import References, sync_here
from reliability_kit import assert_same_data, table_diff

from etl.simulator.server import RunningSimulator
from etl.status import read_status


def _gaps(warehouse: Path) -> dict[str, int]:
    return {g["stream"]: g["gaps"] for g in read_status(warehouse).gaps}


def test_items_graphql_dropped_are_fetched_again_until_the_warehouse_is_complete(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    sim = fresh_sim(faults={"graphql_partial_error_rate": 0.05})
    warehouse = tmp_path / "zoom.duckdb"
    faulty = sync_here(sim, warehouse)
    assert (faulty.status, faulty.exit_code) == ("partial", 3), faulty.as_dict()
    outstanding = _gaps(warehouse)
    assert outstanding and faulty.gaps == outstanding, (outstanding, faulty.as_dict())
    # Which items drop depends on the order requests arrive in, but something was lost, and (before
    # gaps) most of it in windows older than the next run's lookback, where nothing fetched it again.
    assert table_diff(warehouse, references.full), outstanding

    sim.set_faults(graphql_partial_error_rate=0.0)
    healed = sync_here(sim, warehouse)
    assert (healed.status, healed.exit_code, healed.gaps) == ("ok", 0, {}), healed.as_dict()
    assert _gaps(warehouse) == {}
    assert_same_data(warehouse, references.full)


def test_a_fallback_mid_run_leaves_what_rest_served_outstanding_and_the_next_run_rereads_it(
    references: References, fresh_sim: Callable[..., RunningSimulator], tmp_path: Path
) -> None:
    # One in ten GraphQL requests fails with a 5xx and is not retried: streams fall back to REST mid-run.
    sim = fresh_sim(faults={"graphql_error_rate": 0.1})
    warehouse = tmp_path / "zoom.duckdb"
    faulty = sync_here(sim, warehouse, retry_attempts=1)
    assert faulty.sources["meeting_instances"] == "rest", faulty.as_dict()
    assert (faulty.status, faulty.exit_code) == ("partial", 3), faulty.as_dict()
    assert faulty.gaps.get("meeting_instances", 0) > 0, faulty.as_dict()
    reasons = {g["reason"] for g in read_status(warehouse).gaps}
    assert any("fallback" in reason for reason in reasons), reasons

    sim.set_faults(graphql_error_rate=0.0)
    healed = sync_here(sim, warehouse)
    assert healed.sources["meeting_instances"] == "graphql", healed.as_dict()
    assert (healed.status, healed.exit_code, healed.gaps) == ("ok", 0, {}), healed.as_dict()
    assert_same_data(warehouse, references.full)
