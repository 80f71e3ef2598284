"""Fixtures of the reliability suite: clean reference warehouses, built once per session.

- ``sync_here(sim, warehouse, **flags) -> SyncResult``: a sync in this process (settings as the CLI builds
  them: flags, then ``ZOOM_CLIENT_SECRET``), at ``RATE_SCALE``.
- ``references``: warehouses of uninterrupted runs against a fresh simulator (tiny profile, seed 42):
  ``full`` after the first sync, ``incremental`` after one more simulated day and a second sync, and
  ``rest_full`` with every stream forced to REST (the bad-input tests compare against it).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from reliability_kit import row_counts
from simenv import RATE_SCALE

from etl.config import load_settings
from etl.pipeline import SyncOptions, SyncResult, sync
from etl.simulator.app import SimulatorConfig
from etl.simulator.clock import REFERENCE_EPOCH
from etl.simulator.faults import FaultSettings
from etl.simulator.server import RunningSimulator, start

SEED = 42
DAY_STEP = 1.0  # simulated days between the first and the second sync


def settings_for(sim: RunningSimulator, warehouse: Path, **flags: Any) -> Any:
    creds = sim.credentials
    given = {
        "account_id": creds["account_id"],
        "client_id": creds["client_id"],
        "api_url": sim.base_url,
        "oauth_url": sim.oauth_url,
        "warehouse": warehouse,
        "rate_scale": RATE_SCALE,
        **flags,
    }
    return load_settings(given, {"ZOOM_CLIENT_SECRET": creds["client_secret"]}, None)


def sync_here(sim: RunningSimulator, warehouse: Path, *, part_rows: int = 40, **flags: Any) -> SyncResult:
    """A sync in small batches, each normalized in parts (so every test here goes through the merge)."""
    return sync(settings_for(sim, warehouse, **flags), SyncOptions(batch_rows=100, part_rows=part_rows))


def make_sim(**overrides: Any) -> RunningSimulator:
    config: dict[str, Any] = {
        "profile": "tiny",
        "seed": SEED,
        "epoch": REFERENCE_EPOCH,
        "rate_scale": RATE_SCALE,
        **overrides,
    }
    if isinstance(config.get("faults"), dict):
        config["faults"] = FaultSettings(**config["faults"])
    return start(SimulatorConfig(**config))


@dataclass(frozen=True)
class References:
    full: Path
    incremental: Path
    rest_full: Path

    def copy(self, which: str, target: Path) -> Path:
        """A private copy of a reference warehouse to sync on (``<name>.wal`` does not exist: closed)."""
        shutil.copyfile(getattr(self, which), target)
        return target


@pytest.fixture(scope="session")
def references(tmp_path_factory: pytest.TempPathFactory) -> References:
    base = tmp_path_factory.mktemp("references")
    full, incremental, rest_full = base / "full.duckdb", base / "incremental.duckdb", base / "rest.duckdb"
    with make_sim() as sim:
        first = sync_here(sim, full)
        assert first.exit_code == 0, first.as_dict()
        shutil.copyfile(full, incremental)
        sim.advance(days=DAY_STEP)
        second = sync_here(sim, incremental)
        assert second.exit_code == 0, second.as_dict()
    with make_sim() as sim:
        rest = sync_here(sim, rest_full, source="rest")
        assert rest.exit_code == 0, rest.as_dict()
    counts = row_counts(incremental)
    # The second day must change dimensions, or the history crash tests would prove nothing.
    changed = counts["users_history"] - counts["users"] + counts["meetings_history"] - counts["meetings"]
    assert changed > 0, counts
    return References(full, incremental, rest_full)


@pytest.fixture
def fresh_sim() -> Iterator[Callable[..., RunningSimulator]]:
    """Simulators started with ``make_sim(**overrides)``, stopped at teardown."""
    started: list[RunningSimulator] = []

    def make(**overrides: Any) -> RunningSimulator:
        sim = make_sim(**overrides)
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()
