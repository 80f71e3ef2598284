"""Zoom's OpenAPI file, as the repository keeps it (``schemas/zoom-meeting-api.openapi.json``).

One definition for every test that checks the project against Zoom's REST contract; nothing outside the
repository is read, so a clone anywhere runs these tests."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import orjson

OPENAPI = Path(__file__).resolve().parents[1] / "schemas" / "zoom-meeting-api.openapi.json"


@cache
def openapi() -> dict[str, Any]:
    """The whole file, parsed once per test process. Callers must not mutate it."""
    return orjson.loads(OPENAPI.read_bytes())  # type: ignore[no-any-return]
