"""Fixtures: a real DuckDB warehouse file in tmp_path, and a Page factory (``make_page``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from etl.records import Page
from etl.warehouse import Warehouse

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def page(
    stream: str,
    records: list[dict[str, Any]],
    *,
    at: datetime | int = 0,
    context: dict[str, Any] | None = None,
    account: str = "acct1",
) -> Page:
    """A page fetched ``at`` (a datetime, or hours after T0)."""
    fetched = at if isinstance(at, datetime) else T0 + timedelta(hours=at)
    return Page(stream, account, "rest", f"GET /{stream}", fetched, records, context or {})


@pytest.fixture
def warehouse_path(tmp_path: Path) -> Path:
    return tmp_path / "zoom.duckdb"


@pytest.fixture
def wh(warehouse_path: Path) -> Iterator[Warehouse]:
    with Warehouse.open(warehouse_path) as warehouse:
        yield warehouse


@pytest.fixture
def make_page() -> Callable[..., Page]:
    return page
