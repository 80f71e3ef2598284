"""Words for people: ages ("3 h 12 min ago"), durations ("2 h"), and Zoom's codes by name.

Programs get the raw values (``--json``, ``--format csv|json``); these are for the text a person reads.
"""

from __future__ import annotations

import re

# ``user_type`` as Zoom's OpenAPI file documents it (schemas/zoom-meeting-api.openapi.json, the users'
# ``type``): 1 Basic, 2 Licensed, 4 No Meeting License, 99 None. Other values are shown as they are.
USER_TYPES = {1: "Basic", 2: "Licensed", 4: "No Meeting License", 99: "None"}

_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)\s*$")


def duration(seconds: float) -> str:
    """``42 s``, ``5 min``, ``3 h 12 min``, ``2 d 4 h``: two units at most, rounded down."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def age(seconds: float | None) -> str:
    """How long ago, for a person: ``3 h 12 min ago``; ``never`` for None."""
    if seconds is None:
        return "never"
    return "just now" if seconds < 1 else f"{duration(seconds)} ago"


def parse_duration(text: str) -> float:
    """``90s``, ``30min``, ``2h``, ``1d`` (one number, one unit) -> seconds; ValueError otherwise."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a duration like 90s, 30min, 2h or 1d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def user_type(value: object) -> object:
    """``2`` -> ``Licensed``; an undocumented value stays as it is."""
    return USER_TYPES.get(value, value) if isinstance(value, int) else value
