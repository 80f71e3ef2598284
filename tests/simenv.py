"""The settings environment of a sync pointed at a running simulator, as a cron job would have it.

One definition for every test folder (the CLI, pipeline and reliability tests all use it)."""

from __future__ import annotations

from pathlib import Path

from etl.config import AccountSettings, Secret
from etl.simulator.server import RunningSimulator

RATE_SCALE = 50.0  # simulator and client alike: the tiny account syncs in about a second


def sim_environ(sim: RunningSimulator, warehouse: Path, **extra: str) -> dict[str, str]:
    """``ZOOM_*`` variables for ``sim``'s credentials and URLs, the warehouse path, and ``extra``."""
    return sim.environ(warehouse, **extra)


def sim_account(
    sim: RunningSimulator, *, secret: str | None = None, plan: str | None = None
) -> AccountSettings:
    """The account settings that reach ``sim`` (its credentials and URLs; another secret or plan if given)."""
    creds = sim.credentials
    return AccountSettings(
        account_id=creds["account_id"],
        client_id=creds["client_id"],
        client_secret=Secret(secret or creds["client_secret"]),
        api_url=sim.base_url,
        oauth_url=sim.oauth_url,
        plan=plan or sim.config.plan,
    )
