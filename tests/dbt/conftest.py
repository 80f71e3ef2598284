"""``--dbt PATH``: the dbt executable to run ``tests/dbt`` with (see test_dbt.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def dbt(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.getoption("--dbt")).resolve()  # the tests run dbt from another folder
