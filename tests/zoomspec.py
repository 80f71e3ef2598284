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


# Operations newer than the file (its March 2024 revision) that zoom-etl calls: the AI Companion summaries,
# with their rate-limit labels as Zoom publishes them (research notes §4). The tests that check endpoints
# against the file check these against the simulator's route table instead (written from Zoom's SDK
# types; tests/simulator/test_openapi.py's BEYOND_THE_FILE holds their response schemas).
NEWER_THAN_THE_FILE = {
    "/meetings/meeting_summaries": "MEDIUM",
    "/meetings/{meetingId}/meeting_summary": "LIGHT",
}
