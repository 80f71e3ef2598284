"""Reading a response body: bounded in size and in time, and decoded leniently when strict JSON fails.

Bounds (``Settings.max_response_bytes``, ``Settings.request_deadline``): the body is streamed and the read
stops as soon as it passes the size limit (a declared ``Content-Length`` beyond it stops it before the first
byte), or once the attempt has run past its deadline (the read timeout of a silent server is cut to the
deadline too). A body too large is not retried: it would be as large again. A deadline passed is retried
like any timeout, so one request takes at most ``retry_attempts`` x ``request_deadline`` (plus backoff).
Token responses are read the same way. Not covered: a status line and headers trickled in byte by byte
(httpx gives no hold on a request before its headers): those are bounded only by the read timeout per
read and h11's limit on header size.

Decoding: ``orjson`` first. When it refuses a body (invalid UTF-8, a lone surrogate ``\\ud800``) or cannot
write it back (nested deeper than its recursion limit), the body is read again leniently (the standard
library's parser over the bytes decoded with ``surrogateescape``) and marked ``repaired``: the sources then
``screen`` its records one by one, and a record that cannot be written as JSON becomes an ``Unreadable``
that normalize quarantines in ``_etl.rejects``; the other records of the page load. A body that is not JSON
even leniently (a truncated transfer) is still retried; one nested deeper than the lenient reading follows
(``TooDeep``, about 1,000 levels) fails its request at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import httpx
import orjson

from etl.records import Unreadable

_SURROGATE = re.compile("[\ud800-\udfff]")
PAYLOAD_DEPTH = 32  # an unreadable record's payload keeps this many levels; deeper ones are elided


class NotJson(ValueError):
    """The body is not JSON, not even read leniently."""


class TooDeep(NotJson):
    """The body nests deeper than even the lenient reading can follow (about 1,000 levels): no record of it
    can be told apart, and it would be as deep again."""


class BodyTooLarge(Exception):
    """The body passed the size limit (``what`` says how: declared, or read so far)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class PastDeadline(Exception):
    """The body was not complete when the attempt's deadline passed."""


def read(response: httpx.Response, *, limit: int, deadline: float, clock: Callable[[], float]) -> bytes:
    """The whole body of a streamed ``response``, or ``BodyTooLarge`` / ``PastDeadline`` as soon as it is
    too large or ``clock()`` has passed ``deadline``. Network failures are httpx's own exceptions."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"declares {int(declared):,} bytes")
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"passed {limit:,} bytes")
        chunks.append(chunk)
        if clock() > deadline:
            raise PastDeadline()
    return b"".join(chunks)


def decode(content: bytes) -> tuple[Any, bool]:
    """(the parsed body, whether it needed the lenient reading)."""
    try:
        parsed = orjson.loads(content)
    except orjson.JSONDecodeError:
        return _lenient(content), True
    try:
        orjson.dumps(parsed)  # cheap next to the parse; fails only for nesting orjson cannot write
    except orjson.JSONEncodeError:
        return parsed, True
    return parsed, False


def _refuse(constant: str) -> Any:
    raise NotJson(f"{constant} is not JSON")


def _lenient(content: bytes) -> Any:
    try:
        return json.loads(content.decode("utf-8", "surrogateescape"), parse_constant=_refuse)
    except RecursionError:
        raise TooDeep("nested too deep to read") from None
    except ValueError as exc:
        raise NotJson(str(exc)) from None


def screen(records: Iterable[Any]) -> list[Any]:
    """The records of a ``repaired`` body, each one that cannot be written as JSON replaced by an
    ``Unreadable`` naming why."""
    kept: list[Any] = []
    for record in records:
        try:
            orjson.dumps([record])  # as raw landing writes it: inside its page's array
        except orjson.JSONEncodeError as exc:
            kept.append(Unreadable(orjson.dumps(_safe(record, 0)).decode(), _reason(str(exc))))
        else:
            kept.append(record)
    return kept


def _reason(error: str) -> str:
    if "surrogate" in error or "UTF-8" in error:
        return "invalid UTF-8 or a lone surrogate in a string (replaced by U+FFFD in the payload)"
    if "ecursion" in error:
        return f"nested too deep to store (levels beyond {PAYLOAD_DEPTH} elided in the payload)"
    return f"not storable as JSON: {error}"


def _safe(value: Any, depth: int) -> Any:
    """A copy of ``value`` that JSON can hold: bad text replaced, nesting cut at ``PAYLOAD_DEPTH``."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _bad_text(value) else value
    if isinstance(value, dict | list) and depth >= PAYLOAD_DEPTH:
        return f"...(nested deeper than {PAYLOAD_DEPTH} levels)"
    if isinstance(value, dict):
        return {_safe(str(k), depth): _safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe(v, depth + 1) for v in value]
    return value


def _bad_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
