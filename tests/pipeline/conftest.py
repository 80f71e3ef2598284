"""Settings that point a sync at a running simulator, as a user would configure it (env-style)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from simenv import sim_environ

from etl.config import Settings, load_settings
from etl.simulator.server import RunningSimulator


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., Settings]:
    def make(sim: RunningSimulator, *, warehouse: Path | None = None, **flags: Any) -> Settings:
        environ = sim_environ(sim, warehouse or tmp_path / "zoom.duckdb")
        return load_settings(flags, environ, None)

    return make
