"""Shared fixtures: a real Zoom simulator on loopback, started per test and stopped at teardown.

- ``simulator_factory(**config_overrides) -> RunningSimulator``: any ``SimulatorConfig`` field may be
  overridden; ``faults`` may be a ``FaultSettings`` or a dict of knobs. Defaults: tiny profile, seed 42,
  the fixed ``REFERENCE_EPOCH`` clock start, pro plan at ``simenv.RATE_SCALE``, no latency.
- ``simulator``: ``simulator_factory()`` with those defaults.
- ``zoom_client(sim) -> ZoomClient``: a minimal keep-alive HTTP client (stdlib ``http.client``) that fetches a
  token and returns ``(status, headers, json)``; handy for asserting what the simulator answers.

A ``RunningSimulator`` offers ``.base_url``, ``.oauth_url``, ``.account``, ``.clock``, ``.config``,
``.credentials``, ``.stats()``, ``.set_faults(**knobs)``, ``.advance(days=..., seconds=...)``, ``.stop()``.
"""

from __future__ import annotations

import base64
import http.client
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from simenv import RATE_SCALE

from etl.simulator.app import SimulatorConfig
from etl.simulator.clock import REFERENCE_EPOCH
from etl.simulator.faults import FaultSettings
from etl.simulator.server import RunningSimulator, start

DEFAULTS: dict[str, Any] = {
    "profile": "tiny",
    "seed": 42,
    "epoch": REFERENCE_EPOCH,  # a fixed start: numbers in the tests do not move with the calendar
    "plan": "pro",
    "rate_scale": RATE_SCALE,
    "latency_ms": 0.0,
    "jitter_ms": 0.0,
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--dbt", default=None, help="dbt executable: run the tests marked dbt (make test-dbt)")
    parser.addoption(
        "--spark-python",
        default=None,
        help="a Python with pyspark: run the tests marked spark (make test-spark)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``dbt`` run with ``--dbt`` only (``make test-dbt``), tests marked ``spark`` with
    ``--spark-python`` only (``make test-spark``); elsewhere they are deselected, not skipped: neither is a
    dependency of the project, and each run is a target of its own."""
    wanted = {"dbt": config.getoption("--dbt"), "spark": config.getoption("--spark-python")}
    off = [marker for marker, given in wanted.items() if not given]
    if not off:
        return
    kept = [item for item in items if not any(item.get_closest_marker(m) for m in off)]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.fixture
def spark_python(request: pytest.FixtureRequest) -> str:
    """The Python with pyspark that ``--spark-python`` names (tests marked ``spark``)."""
    return str(request.config.getoption("--spark-python"))


@pytest.fixture
def simulator_factory() -> Iterator[Callable[..., RunningSimulator]]:
    started: list[RunningSimulator] = []

    def make(**overrides: Any) -> RunningSimulator:
        settings = {**DEFAULTS, **overrides}
        if isinstance(settings.get("faults"), dict):
            settings["faults"] = FaultSettings(**settings["faults"])
        sim = start(SimulatorConfig(**settings))
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def simulator(simulator_factory: Callable[..., RunningSimulator]) -> RunningSimulator:
    return simulator_factory()


class ZoomClient:
    """One keep-alive connection to a simulator, authenticated with a fresh Server-to-Server token."""

    def __init__(self, sim: RunningSimulator, *, timeout: float = 10.0, authenticate: bool = True) -> None:
        self.sim = sim
        self.conn = http.client.HTTPConnection("127.0.0.1", sim.port, timeout=timeout)
        self.token = self.fetch_token() if authenticate else ""

    def fetch_token(self) -> str:
        status, _, body = self.oauth()
        assert status == 200, body
        return str(body["access_token"])

    def oauth(
        self, client_id: str | None = None, secret: str | None = None, account_id: str | None = None
    ) -> tuple[int, dict[str, str], Any]:
        creds = self.sim.credentials
        basic = f"{client_id or creds['client_id']}:{secret or creds['client_secret']}"
        query = f"grant_type=account_credentials&account_id={account_id or creds['account_id']}"
        headers = {"Authorization": "Basic " + base64.b64encode(basic.encode()).decode()}
        return self.request("POST", f"/oauth/token?{query}", headers=headers)

    def raw(self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b"") -> Any:
        self.conn.request(method, path, body=body or None, headers=headers or {})
        response = self.conn.getresponse()
        return response, response.read()

    def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, dict[str, str], Any]:
        response, data = self.raw(method, path, headers=headers, body=body)
        return response.status, dict(response.getheaders()), orjson.loads(data) if data else None

    def get(self, path: str, token: str | None = None) -> tuple[int, dict[str, str], Any]:
        return self.request("GET", path, headers={"Authorization": f"Bearer {token or self.token}"})

    def get_ok(self, path: str) -> Any:
        status, _, body = self.get(path)
        assert status == 200, (path, status, body)
        return body

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> tuple[int, dict[str, str], Any]:
        payload = orjson.dumps({"query": query, "variables": variables or {}})
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        return self.request("POST", "/v3/graphql", headers=headers, body=payload)

    def control(self, method: str, path: str, data: dict[str, Any] | None = None) -> tuple[int, Any]:
        body = orjson.dumps(data) if data is not None else b""
        status, _, answer = self.request(method, path, body=body)
        return status, answer

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def zoom_client() -> Iterator[Callable[..., ZoomClient]]:
    clients: list[ZoomClient] = []

    def make(sim: RunningSimulator, **kwargs: Any) -> ZoomClient:
        client = ZoomClient(sim, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
