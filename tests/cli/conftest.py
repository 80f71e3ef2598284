"""Run the ``zoom-etl`` command line in-process against a real simulator, as cron would (no terminal)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from simenv import sim_environ

from etl.cli import cli
from etl.simulator.server import RunningSimulator

ENV_NAMES = (
    "ZOOM_ACCOUNT_ID",
    "ZOOM_CLIENT_ID",
    "ZOOM_CLIENT_SECRET",
    "ZOOM_API_URL",
    "ZOOM_OAUTH_URL",
    "ZOOM_PLAN",
    "ZOOM_ETL_WAREHOUSE",
    "ZOOM_ETL_CONFIG",
)


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No stray settings from the machine; the logging a command sets up is undone afterwards."""
    monkeypatch.chdir(tmp_path)
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    logger = logging.getLogger("etl")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:], logger.level, logger.propagate = handlers, level, propagate


@pytest.fixture
def sim_env(tmp_path: Path) -> Callable[[RunningSimulator], dict[str, str]]:
    def make(sim: RunningSimulator) -> dict[str, str]:
        return sim_environ(sim, tmp_path / "zoom.duckdb")

    return make


@pytest.fixture
def run() -> Callable[..., Result]:
    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), env=env)

    return invoke
