"""Parsers of single setting values: each checks one raw value and names its origin when it is bad.

A raw value travels as ``Value(raw, origin)``; a bad one becomes ONE ``ConfigError`` line such as
``ZOOM_PLAN (environment): must be one of free, pro, business, enterprise, got 'gold'``. Secrets never
reach these parsers: ``etl.config.load`` only checks that a secret is a non-empty string.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from etl.config.model import SOURCES, Timeouts
from etl.errors import ConfigError

STREAM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class Value:
    """A raw setting value and where it came from (``flag --plan``, ``ZOOM_PLAN (environment)``...)."""

    raw: object
    origin: str


def fail(value: Value, problem: str) -> ConfigError:
    return ConfigError(f"{value.origin}: {problem}".replace("\n", " "))


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: the only hosts plain http:// may reach."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


ZOOM_DOMAINS = ("zoom.us", "zoomgov.com")  # where a token's ``api_url`` may send it (the base left default)


def is_zoom_host(host: str) -> bool:
    """True for ``zoom.us``, ``zoomgov.com`` and their subdomains (``api.zoom.us``, ``us06web.zoom.us``)."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith(f".{d}") for d in ZOOM_DOMAINS)


def check_url(url: str) -> str | None:
    """The reason ``url`` may not carry credentials or tokens, or None when it may."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises for a port out of range or not a number)
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an https:// URL"
    if parts.username or parts.password:
        return "must not contain user info"
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return f"plain http:// is refused except on loopback (host {parts.hostname!r}); use https://"
    return None


def parse_url(value: Value | None, default: str) -> str:
    if value is None:
        return default
    if not isinstance(value.raw, str):
        raise fail(value, "must be a URL string")
    url = value.raw.strip().rstrip("/")
    problem = check_url(url)
    if problem:
        raise fail(value, problem)
    return url


def parse_choice(value: Value | None, default: str, allowed: Sequence[str]) -> str:
    if value is None:
        return default
    raw = str(value.raw).strip().lower()
    if raw not in allowed:
        raise fail(value, f"must be one of {', '.join(allowed)}, got {str(value.raw)!r}")
    return raw


def parse_number(
    value: Value | None, default: float, *, low: float, high: float, low_open: bool = False
) -> float:
    if value is None:
        return default
    try:
        if isinstance(value.raw, bool):
            raise ValueError
        number = float(value.raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise fail(value, f"must be a number, got {value.raw!r}") from None
    if number != number or number > high or number < low or (low_open and number == low):
        bracket = "(" if low_open else "["
        raise fail(value, f"must be in {bracket}{low:g}, {high:g}], got {number:g}")
    return number


def parse_integer(value: Value | None, default: int, *, low: int, high: int | None = None) -> int:
    if value is None:
        return default
    raw = value.raw
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise fail(value, f"must be an integer, got {raw!r}")
    try:
        number = int(raw)
    except ValueError:
        raise fail(value, f"must be an integer, got {raw!r}") from None
    if number < low or (high is not None and number > high):
        limit = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise fail(value, f"must be {limit}, got {number}")
    return number


def parse_boolean(value: Value | None, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value.raw, bool):
        return value.raw
    text = str(value.raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise fail(value, f"must be true or false, got {value.raw!r}")


def parse_path(value: Value | None) -> Path | None:
    if value is None:
        return None
    if not isinstance(value.raw, str | os.PathLike) or not str(value.raw).strip():
        raise fail(value, "must be a file path")
    return Path(str(value.raw)).expanduser()


def parse_streams(value: Value | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    raw = value.raw
    items = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(items, Sequence) or isinstance(items, bytes):
        raise fail(value, "must be a comma-separated list of stream names")
    names = tuple(str(item).strip() for item in items if str(item).strip())
    for name in names:
        if not STREAM_NAME.match(name):
            raise fail(value, f"invalid stream name {name!r}")
    if not names:
        raise fail(value, "must name at least one stream")
    return names


def parse_timeouts(flag: Value | None, table: object, file_label: str) -> Timeouts:
    values: dict[str, float] = {}
    if table is not None:
        if not isinstance(table, dict):
            raise ConfigError(f"timeouts in {file_label}: must be a table")
        for key, raw in table.items():
            if key not in Timeouts.__dataclass_fields__:
                raise ConfigError(f"timeouts in {file_label}: unknown key {key!r}")
            values[key] = parse_number(
                Value(raw, f"timeouts.{key} in {file_label}"), 0, low=0.0, high=3600.0, low_open=True
            )
    if flag is not None:  # one number sets them all (flag or ZOOM_ETL_TIMEOUT)
        seconds = parse_number(flag, 0, low=0.0, high=3600.0, low_open=True)
        values = dict.fromkeys(Timeouts.__dataclass_fields__, seconds)
    return Timeouts(**values)


def parse_stream_sources(flag: object, table: object, file_label: str) -> dict[str, str]:
    sources: dict[str, str] = {}
    if table is not None and not isinstance(table, list):
        if not isinstance(table, dict):
            raise ConfigError(f"streams in {file_label}: must be [streams.<name>] tables")
        for name, options in table.items():
            origin = f"[streams.{name}] in {file_label}"
            if not STREAM_NAME.match(name) or not isinstance(options, dict):
                raise ConfigError(f"{origin}: must be a table named after a stream")
            unknown = sorted(set(options) - {"source"})
            if unknown:
                raise ConfigError(f"{origin}: unknown key(s): {', '.join(unknown)}")
            if "source" in options:
                sources[name] = parse_choice(Value(options["source"], f"source of {origin}"), "auto", SOURCES)
    if flag is not None:
        pairs: list[tuple[str, object]]
        if isinstance(flag, Mapping):
            pairs = list(flag.items())
        elif isinstance(flag, str | Sequence):
            items = flag.split(",") if isinstance(flag, str) else flag
            pairs = []
            for item in items:
                name, sep, choice = str(item).partition("=")
                if not sep:
                    raise ConfigError(f"--sources (flag): expected STREAM=SOURCE, got {str(item)!r}")
                pairs.append((name.strip(), choice.strip()))
        else:
            raise ConfigError("--sources (flag): expected STREAM=SOURCE pairs")
        for name, raw in pairs:
            value = Value(raw, f"--sources (flag) for {name}")
            if not STREAM_NAME.match(str(name)):
                raise fail(value, f"invalid stream name {name!r}")
            sources[str(name)] = parse_choice(value, "auto", SOURCES)
    return sources
