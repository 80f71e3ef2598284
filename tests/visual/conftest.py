"""Fixtures for the pages: a demo warehouse synced from the simulator, and a headless Chromium.

- ``demo_run``: ``zoom-etl demo`` (tiny profile, the fixed ``REFERENCE_EPOCH`` clock) run once per module
  in a subprocess, as a user runs it; gives its folder, warehouse and stdout.
- ``browser``: Debian's Chromium driven by Playwright (``executable_path``: Playwright downloads no browser).
  Without Chromium or Playwright the browser tests skip and say how to install them; with the
  environment variable ``CI`` set they fail instead, so CI cannot pass without running them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from etl.simulator.clock import REFERENCE_EPOCH

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
INSTALL = "apt-get install -y --no-install-recommends chromium (Debian), then pip install -e '.[dev]'"


def find_chromium() -> str | None:
    """``$ZOOM_ETL_CHROMIUM``, else the first Chromium on PATH."""
    given = os.environ.get("ZOOM_ETL_CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def missing(reason: str) -> None:
    """Skip, or fail under CI: a browser test that silently skips in CI checks nothing."""
    message = f"{reason}; install it: {INSTALL}"
    if os.environ.get("CI"):
        pytest.fail(f"CI is set and the browser test cannot run: {message}")
    pytest.skip(message)


@dataclass(frozen=True)
class DemoRun:
    folder: Path
    warehouse: Path
    stdout: str


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    folder = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM_")}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's etl, whatever the venv has installed
    command = [
        sys.executable, "-m", "etl", "demo", "--profile", "tiny", "--latency-ms", "0",
        "--clock-start", REFERENCE_EPOCH.strftime("%Y-%m-%dT%H:%M:%S"),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return DemoRun(folder, folder / "demo.duckdb", done.stdout)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = find_chromium()
    if chromium is None:
        missing("no Chromium found (looked for $ZOOM_ETL_CHROMIUM, then chromium on PATH)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        missing(f"the playwright package cannot be imported ({exc})")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium)
        yield launched
        launched.close()
