"""The plain data that joins the stages: extract emits these events, the pipeline hands pages to
normalize and load, and commits checkpoints in the same transaction as the rows before them.

Records in a ``Page`` are named as Zoom's REST API names them (snake_case); the GraphQL source maps its
camelCase fields to those names before it builds a page, so nothing downstream knows the source.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Page:
    """One page of records of one stream, as fetched."""

    stream: str
    account_id: str
    source: str  # "graphql" | "rest"
    request: str  # method, path and query string; never a header, token or secret
    fetched_at: datetime
    records: list[dict[str, Any]]
    context: dict[str, Any] = field(default_factory=dict)  # parent keys put on every row (meeting_uuid...)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Stream state to commit together with every page emitted before it (watermark, done keys)."""

    stream: str
    account_id: str
    state: dict[str, Any]
    done_keys: tuple[str, ...] = ()  # resources completed, e.g. instance uuids whose participants are in
    finished: bool = False  # the stream's last checkpoint of the run: everything it had to fetch is in


@dataclass(frozen=True, slots=True)
class Skip:
    """A resource that could not be fetched (404, 1001, 3001, 12702...): recorded in the run, not fatal."""

    stream: str
    account_id: str
    resource: str
    reason: str
    status: int | None = None
    code: int | None = None


@dataclass(frozen=True, slots=True)
class SourceChoice:
    """Which source served a stream in this run, and why a fallback happened (if it did)."""

    stream: str
    account_id: str
    source: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Gap:
    """A unit of work fetched incompletely in a way a later run can repair (GraphQL dropped items; REST
    served it after a fallback from GraphQL), or, with ``closed``, a unit covering such gaps fetched whole
    (or found gone). Committed with the pages before it, like a checkpoint; see ``etl.extract.gaps``."""

    stream: str
    account_id: str
    scope: str  # a user id, a parent key (instance uuid), or "" (an account-wide window, the whole listing)
    first_day: date | None = None  # the days the unit covers (windowed streams), inclusive
    last_day: date | None = None
    reason: str = ""
    closed: bool = False


Event = Page | Checkpoint | Skip | SourceChoice | Gap


class Unreadable(str):
    """A record that came in a body the client could only read leniently and that cannot be written back
    as JSON (a lone surrogate or invalid UTF-8 in a string, nesting deeper than orjson writes): it travels
    in its page in place of the record, as the record's JSON text made safe (``etl.http.body``), and
    normalize quarantines it in ``_etl.rejects`` with ``reason``. Not a dict, so no stage reads it as one."""

    reason: str

    def __new__(cls, payload: str, reason: str) -> Unreadable:
        made = super().__new__(cls, payload)
        made.reason = reason
        return made
