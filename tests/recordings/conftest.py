"""A tiny simulated account synced (users, recordings) into a real DuckDB file, ready to download from."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from recording_kit import Synced
from simenv import sim_environ

from etl.config import load_settings
from etl.pipeline import SyncOptions, sync
from etl.simulator.server import RunningSimulator


@pytest.fixture
def synced_factory(
    simulator_factory: Callable[..., RunningSimulator], tmp_path: Path
) -> Callable[..., Synced]:
    def make(sim: RunningSimulator | None = None, **sim_settings: Any) -> Synced:
        sim = sim or simulator_factory(**sim_settings)
        warehouse = tmp_path / "zoom.duckdb"
        settings = load_settings({}, sim_environ(sim, warehouse), None)
        result = sync(settings, SyncOptions(streams=("users", "recordings")))
        assert result.status == "ok", result.error
        return Synced(sim, settings, tmp_path / "recordings")

    return make


@pytest.fixture
def synced(synced_factory: Callable[..., Synced]) -> Synced:
    return synced_factory()
