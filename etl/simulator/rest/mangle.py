"""Bad records, as a misbehaving API sends them: the ``bad_record_rate`` fault knob.

Which list items go bad, and how, is a pure function of the seed, the endpoint and the item itself (a
BLAKE2b draw), not of arrival order: the same item comes back equally bad on a retry, after a crash, or
when threads interleave differently, so a test can compare two runs. REST only: a GraphQL server checks
every value against its schema, so wrong types cannot come out of it; REST is where Zoom is loose.

Kinds (each is recorded in the injector's log with the endpoint, the field and the item as sent):

    wrong_type        an integer ``duration`` → ``"forty-two"``, else a time → ``"2026-13-45T99:99:99Z"``
    missing_required  the item's identity field (join_time, uuid, id, time, date) removed
    null_required     that field set to null
    nested            a free-text field → an object
    not_object        the whole item → a string
    huge_string       a free-text field → 100,000 characters
    unicode           a free-text field → emoji with joiners, combining marks, right-to-left override, CJK,
                      astral plane, an escaped NUL
    null_optional     a free-text field → null

A kind that does not fit the item (no such field) falls through to the next one that does.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

KINDS = (
    "wrong_type",
    "missing_required",
    "null_required",
    "nested",
    "not_object",
    "huge_string",
    "unicode",
    "null_optional",
)
ACCEPTABLE = frozenset({"huge_string", "unicode", "null_optional"})  # data a loader must keep as it is
IDENTITY_FIELDS = ("join_time", "uuid", "id", "time", "date")
TIME_FIELDS = ("leave_time", "join_time", "start_time", "end_time", "time", "created_at")
FREE_TEXT = (
    "topic",
    "agenda",
    "dept",
    "first_name",
    "last_name",
    "location",
    "device",
    "customer_key",
    "registrant_id",
    "client_type",
    "version",
    "ip_address",
    "timezone",
)
HUGE = "Z" * 99_990 + "-huge-end"
UNICODE = (
    "Zo\u00eb \U0001f469\U0001f3fd\u200d\U0001f4bb e\u0301 \u202eRTL\u202c \u4f1a\u8bae"
    " \U0001d518\U0001d52b\U0001d526 \u0000 end"
)


def draw(seed: int, endpoint: str, item: Any) -> float:
    """A uniform [0, 1) number fixed by the seed, the endpoint template and the item's content."""
    text = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
    digest = hashlib.blake2b(f"{seed}:{endpoint}:".encode() + text, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _first(item: dict[str, Any], names: tuple[str, ...], test: Any = None) -> str | None:
    for name in names:
        if name in item and (test is None or test(item[name])):
            return name
    return None


def mangle(item: dict[str, Any], start: int, kinds: tuple[str, ...] = KINDS) -> tuple[str, str, Any] | None:
    """Spoil ``item`` in place with the first of ``kinds`` from ``kinds[start]`` on that fits; (kind,
    field, new item) or None if nothing fits."""
    text = _first(item, FREE_TEXT, lambda v: isinstance(v, str))
    identity = _first(item, IDENTITY_FIELDS, lambda v: v not in (None, ""))
    for offset in range(len(kinds)):
        kind = kinds[(start + offset) % len(kinds)]
        if kind == "wrong_type":
            if isinstance(item.get("duration"), int) and not isinstance(item.get("duration"), bool):
                item["duration"] = "forty-two"
                return kind, "duration", item
            name = _first(item, TIME_FIELDS, lambda v: isinstance(v, str) and v != "")
            if name:
                item[name] = "2026-13-45T99:99:99Z"
                return kind, name, item
        elif kind in ("missing_required", "null_required") and identity:
            if kind == "missing_required":
                del item[identity]
            else:
                item[identity] = None
            return kind, identity, item
        elif kind == "not_object":
            return kind, "", "not a record: " + orjson.dumps(item).decode()  # a string, not an object
        elif text is not None:
            value: Any = {
                "nested": {"unexpected": ["object"]},
                "huge_string": HUGE,
                "unicode": UNICODE,
                "null_optional": None,
            }[kind]
            item[text] = value
            return kind, text, item
    return None


def apply(
    body: dict[str, Any], endpoint: str, seed: int, rate: float, log: Any, kinds: tuple[str, ...] = ()
) -> None:
    """Spoil about ``rate`` of the list items of ``body`` (a REST list response) with ``kinds`` (empty:
    all), recording each."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown bad record kind(s) {sorted(unknown)}; known: {', '.join(KINDS)}")
    kinds = kinds or KINDS
    for key, value in body.items():
        if not isinstance(value, list):
            continue
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            x = draw(seed, endpoint, item)
            if x >= rate:
                continue
            start = int(x / rate * len(kinds)) % len(kinds)
            done = mangle(dict(item), start, kinds)  # a copy: handlers may share items
            if done is None:
                continue
            kind, field, new = done
            value[index] = new
            log(endpoint, kind, field, new, key)
