"""One attempt at one recording file: ``download_url`` streamed into a partial file, resumed by ``Range``.

Through the account's ``ZoomClient`` (its connection pool, its token, its rate limiter: one seam to the
network). What Zoom documents or forum threads report (WEBHOOKS_RECORDINGS.md §2.2), and what is done:

- The token goes as ``Authorization: Bearer`` to the ``download_url``'s own host (scheme, name and port)
  and to no other: a redirect to another host (Zoom's file servers, pre-signed URLs) is followed without
  it. A redirect to a host not in ``allowed_hosts`` (or from https to http) is refused, not followed.
- A ``200`` whose body is an HTML page ("Only the host can download this recording") is Zoom's answer to a
  refused token: ``DownloadFailed("html_page")``, with ``refresh_token`` so the caller tries once more
  with a fresh token. A content type outside what the file's kind allows is a failure too.
- Resume: a partial file of ``n`` bytes asks ``Range: bytes=n-``; a ``206`` starting at ``n`` is appended,
  a ``200`` (ranges ignored) starts the file over, a ``416`` with the file already whole ends it.
- A connection lost midway keeps what arrived (flushed), and fails ``retryable``: the caller tries again
  from there.

The rate limiter is charged one LIGHT unit per file attempt: Zoom documents no limit for its download
host; LIGHT keeps downloads from starving the API calls of a sync sharing the account's budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from etl.errors import ZoomEtlError
from etl.http.client import ZoomClient
from etl.http.retry import RETRYABLE_EXCEPTIONS

MAX_REDIRECTS = 5
_HTML_START = (b"<!doctype html", b"<html")


class DownloadFailed(ZoomEtlError):
    """One file attempt failed; ``kind`` names why (``html_page``, ``content_type``, ``redirect``,
    ``http``, ``network``, ``range``); ``retryable``: worth another attempt (resuming)."""

    def __init__(
        self, kind: str, message: str, *, retryable: bool = False, refresh_token: bool = False
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        self.refresh_token = refresh_token


@dataclass(frozen=True, slots=True)
class Fetched:
    size: int  # bytes in the partial file now
    content_type: str
    resumed_from: int  # bytes already there that the server agreed to continue from (0: from scratch)
    requests: int  # HTTP requests this attempt sent (redirect hops included)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """``allowed`` holds names (``localhost``) and domains with a leading dot (``.zoom.us``: any host under
    it, and ``zoom.us`` itself)."""
    host = host.lower()
    for entry in allowed:
        entry = entry.lower()
        if entry.startswith(".") and (host.endswith(entry) or host == entry[1:]):
            return True
        if host == entry:
            return True
    return False


def fetch(
    client: ZoomClient,
    url: str,
    part: Path,
    *,
    allowed_hosts: tuple[str, ...],
    accept: Callable[[str], bool],
    expected_size: int | None,
    throttle: Callable[[int], None] = lambda _n: None,
) -> Fetched:
    """One attempt: append what the server sends to ``part`` (resuming from its size)."""
    have = part.stat().st_size if part.exists() else 0
    waited = client.limiter.acquire("light", 1)
    token = client.access_token()
    origin = _origin(url)
    current = url
    requests = 0
    for _hop in range(MAX_REDIRECTS + 1):
        headers = {"Accept": "*/*"}
        if _origin(current) == origin:
            headers["Authorization"] = f"Bearer {token}"
        if have:
            headers["Range"] = f"bytes={have}-"
        requests += 1
        first_hop = requests == 1
        client.count_request(
            "light" if first_hop else "download",
            "/rec/download" if first_hop else "(redirect)",
            waited if first_hop else 0.0,
        )
        try:
            with client.http.stream("GET", current, headers=headers) as response:
                status = response.status_code
                if status in (301, 302, 303, 307, 308):
                    location = response.headers.get("location")
                    if not location:
                        raise DownloadFailed("redirect", f"HTTP {status} without a Location")
                    target = urljoin(current, location)
                    scheme, host, _port = _origin(target)
                    if scheme not in ("https", "http") or (origin[0] == "https" and scheme != "https"):
                        raise DownloadFailed("redirect", f"redirect to a {scheme} URL refused (host {host})")
                    if _origin(target)[1] != origin[1] and not host_allowed(host, allowed_hosts):
                        raise DownloadFailed(
                            "redirect",
                            f"redirect to host {host!r} refused: not in the allowed hosts"
                            " (--allow-host, ZOOM_ETL_DOWNLOAD_HOSTS)",
                        )
                    current = target
                    continue
                return _receive(response, part, have, accept, expected_size, throttle, requests)
        except RETRYABLE_EXCEPTIONS as exc:
            raise DownloadFailed(
                "network", f"connection lost ({type(exc).__name__})", retryable=True
            ) from None
    raise DownloadFailed("redirect", f"more than {MAX_REDIRECTS} redirects")


def _receive(
    response: httpx.Response,
    part: Path,
    have: int,
    accept: Callable[[str], bool],
    expected_size: int | None,
    throttle: Callable[[int], None],
    requests: int,
) -> Fetched:
    status = response.status_code
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if status == 416 and have and expected_size == have:
        return Fetched(have, content_type, have, requests)
    if status == 416:
        part.unlink(missing_ok=True)
        raise DownloadFailed("range", "the server refused the resume range; starting over", retryable=True)
    if status >= 500 or status == 429:
        raise DownloadFailed("http", f"HTTP {status}", retryable=True)
    if status not in (200, 206):
        detail = response.read()[:300].decode("utf-8", "replace")
        raise DownloadFailed("http", f"HTTP {status}: {' '.join(detail.split())}")
    if content_type == "text/html":
        raise DownloadFailed(
            "html_page",
            "Zoom answered an HTML page instead of the file (a refused token: 'Only the host can download')",
            refresh_token=True,
        )
    if not accept(content_type):
        raise DownloadFailed("content_type", f"unexpected content type {content_type or '(none)'!r}")
    start = 0
    if status == 206:
        content_range = response.headers.get("content-range", "")
        if not content_range.startswith(f"bytes {have}-"):
            part.unlink(missing_ok=True)
            raise DownloadFailed("range", f"answer to bytes={have}- was {content_range!r}", retryable=True)
        start = have
    mode = "ab" if start else "wb"
    first = True
    with part.open(mode) as out:
        for chunk in response.iter_bytes():  # as they arrive: a chunk size would hold back bytes a drop loses
            if first and not start and chunk.lstrip()[:14].lower().startswith(_HTML_START):
                raise DownloadFailed(
                    "html_page", "the body is an HTML page, not the file", refresh_token=True
                )
            first = False
            out.write(chunk)
            out.flush()  # on disk before the pause: a run killed meanwhile keeps it for its resume
            throttle(len(chunk))
        out.flush()
        size = out.tell()
    return Fetched(size, content_type, start, requests)


def pace(bytes_per_second: float) -> Callable[[int], None]:
    """A shared bandwidth cap across threads: ``throttle(n)`` sleeps until ``n`` more bytes fit."""
    if bytes_per_second <= 0:
        return lambda _n: None
    import threading

    lock = threading.Lock()
    state = {"next": time.monotonic()}

    def throttle(n: int) -> None:
        with lock:
            now = time.monotonic()
            start = max(now, state["next"])
            state["next"] = start + n / bytes_per_second
            delay = start - now
        if delay > 0:
            time.sleep(delay)

    return throttle
