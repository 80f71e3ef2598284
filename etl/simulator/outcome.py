"""What the socket layer must do with one request (``Outcome``), decided by ``App`` and its helpers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson


@dataclass(slots=True)
class Outcome:
    """What the socket layer must do: send ``body`` (maybe cut short), or reset, maybe after ``hold``.

    A recording file is streamed instead: ``chunks`` (``length`` bytes in all), reset after ``cut_after``
    bytes when that is not -1."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None  # reset | truncate | malformed
    hold: float = 0.0
    content_type: str = "application/json; charset=utf-8"
    chunks: Iterator[bytes] | None = None
    length: int = 0
    cut_after: int = -1


def json_outcome(status: int, body: object, headers: dict[str, str] | None = None) -> Outcome:
    """Every answer is JSON, including the socket layer's own 500 for a simulator bug."""
    return Outcome(status, orjson.dumps(body), headers or {})
