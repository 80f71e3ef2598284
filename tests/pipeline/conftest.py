"""Settings that point a sync at a running simulator, as a user would configure it (env-style)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from etl.config import Settings, load_settings
from etl.simulator.server import RunningSimulator


def sim_environ(sim: RunningSimulator, warehouse: Path, **extra: str) -> dict[str, str]:
    """The environment a cron job would have: credentials and URLs of the simulator, the warehouse."""
    creds = sim.credentials
    return {
        "ZOOM_ACCOUNT_ID": creds["account_id"],
        "ZOOM_CLIENT_ID": creds["client_id"],
        "ZOOM_CLIENT_SECRET": creds["client_secret"],
        "ZOOM_API_URL": sim.base_url,
        "ZOOM_OAUTH_URL": sim.oauth_url,
        "ZOOM_PLAN": sim.config.plan,
        "ZOOM_ETL_WAREHOUSE": str(warehouse),
        "ZOOM_ETL_RATE_SCALE": "50",
        **extra,
    }


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., Settings]:
    def make(sim: RunningSimulator, *, warehouse: Path | None = None, **flags: Any) -> Settings:
        environ = sim_environ(sim, warehouse or tmp_path / "zoom.duckdb")
        return load_settings(flags, environ, None)

    return make
