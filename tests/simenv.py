"""The settings environment of a sync pointed at a running simulator, as a cron job would have it.

One definition for every test folder (the CLI, pipeline and reliability tests all use it)."""

from __future__ import annotations

from pathlib import Path

from etl.simulator.server import RunningSimulator

RATE_SCALE = 50.0  # simulator and client alike: the tiny account syncs in about a second


def sim_environ(sim: RunningSimulator, warehouse: Path, **extra: str) -> dict[str, str]:
    """``ZOOM_*`` variables for ``sim``'s credentials and URLs, the warehouse path, and ``extra``. The client
    is scaled like the simulator it talks to, as a real client is to Zoom: paced to the server's limits,
    not into 429s and waits."""
    creds = sim.credentials
    return {
        "ZOOM_ACCOUNT_ID": creds["account_id"],
        "ZOOM_CLIENT_ID": creds["client_id"],
        "ZOOM_CLIENT_SECRET": creds["client_secret"],
        "ZOOM_API_URL": sim.base_url,
        "ZOOM_OAUTH_URL": sim.oauth_url,
        "ZOOM_PLAN": sim.config.plan,
        "ZOOM_ETL_WAREHOUSE": str(warehouse),
        "ZOOM_ETL_RATE_SCALE": str(sim.config.rate_scale),
        **extra,
    }
