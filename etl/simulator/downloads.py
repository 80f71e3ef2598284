"""Recording file downloads: ``download_url`` on the API host, then a redirect to a "CDN" host name.

What Zoom documents, and what the simulator does (WEBHOOKS_RECORDINGS.md §2.2):

- ``GET /rec/download/{key}`` wants the access token as ``Authorization: Bearer`` or ``?access_token=``.
  A missing or refused token gets what Zoom sends: **HTTP 200 with an HTML page** ("Only the host can
  download this recording"), not a 4xx. A file still processing: 404, code 3301.
- A good token gets a ``302`` to the same file on a second host name (``cdn_host``: ``localhost`` when the
  simulator listens on ``127.0.0.1``), a pre-signed URL (``expires`` and ``signature`` in its query) that
  needs no token. A request there that still carries a token is refused (400, as object stores refuse a
  request with two kinds of authentication) and counted under ``/cdn (token received)`` in the stats, so
  a client leaking its token to another host fails visibly. ``download_redirect`` off: the file is served
  from the API host directly.
- The file: ``Accept-Ranges: bytes``, ``Range: bytes=N-`` / ``bytes=N-M`` answered 206 with
  ``Content-Range`` (416 past the end), the content type of its kind, streamed in 64 KiB chunks.
  ``download_drop_bytes`` / ``download_drops`` (fault knobs): the next ``download_drops`` file answers
  announce their full length and stop after that many bytes (the connection is reset).

``{key}`` is opaque to clients: the meeting uuid and file id, base64url-encoded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from etl.simulator.media import BLOCK, CONTENT_TYPES, MediaBody
from etl.simulator.model import RecordingFile
from etl.simulator.outcome import Outcome, json_outcome

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Error - Zoom</title></head><body>"
    b"<div class='error-message'>Only the host can download this recording. Please sign in with the host"
    b" account to download it.</div></body></html>"
)
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def file_key(meeting_uuid: str, file_id: str) -> str:
    raw = f"{meeting_uuid}\n{file_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_key(key: str) -> tuple[str, str] | None:
    try:
        raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    uuid, sep, fid = raw.partition("\n")
    return (uuid, fid) if sep else None


def download_url(base_url: str, meeting_uuid: str, file_id: str) -> str:
    return f"{base_url}/rec/download/{file_key(meeting_uuid, file_id)}"


def cdn_host(host: str) -> str:
    """The second host name the files are served from: another name of the same loopback server."""
    return "localhost" if host != "localhost" else "127.0.0.1"


class Downloads:
    """Serves ``/rec/download/`` and ``/cdn/`` for one ``App``."""

    def __init__(self, app: Any) -> None:  # the App (etl.simulator.app), which makes this object
        self.app = app
        self._secret = hashlib.sha256(f"cdn:{app.config.seed}".encode()).digest()

    def handle(self, path: str, query: str, headers: Any) -> Outcome:
        params = dict(parse_qsl(query, keep_blank_values=True))
        if path.startswith("/rec/download/"):
            return self._api(path[len("/rec/download/") :], params, headers)
        return self._cdn(path[len("/cdn/") :], params, headers)

    def _record(self, endpoint: str, outcome: Outcome) -> Outcome:
        self.app.stats.record(endpoint, None, outcome.status)
        return outcome

    def _file(self, key: str) -> RecordingFile | None:
        found = parse_key(key)
        if found is None:
            return None
        uuid, fid = found
        now = self.app.clock.now()
        inst = self.app.account.instance(uuid, now)
        if inst is None or not inst.has_recording:
            return None
        account: Any = self.app.raw_account
        if account.recording_ready_at(inst) > now:
            return None
        for f in account.recording(inst, now).files:
            if f.id == fid:
                return f
        return None

    def _signature(self, key: str, expires: str) -> str:
        return hmac.new(self._secret, f"{key}:{expires}".encode(), hashlib.sha256).hexdigest()

    def _api(self, key: str, params: dict[str, str], headers: Any) -> Outcome:
        endpoint = "/rec/download"
        authorization = headers.get("Authorization")
        if not authorization and params.get("access_token"):
            authorization = f"Bearer {params['access_token']}"
        if not self.app.tokens.valid(authorization) or self.app.faults.settings.download_html:
            page = Outcome(200, HTML_PAGE, content_type="text/html;charset=utf-8")
            return self._record(endpoint, page)
        f = self._file(key)
        if f is None:
            body = {"code": 3301, "message": "This recording does not exist."}
            return self._record(endpoint, json_outcome(404, body))
        if f.status != "completed":
            body = {"code": 3301, "message": "This recording is still being processed."}
            return self._record(endpoint, json_outcome(404, body))
        if not self.app.faults.settings.download_redirect:
            return self._record(endpoint, self._serve(f, headers))
        expires = str(int((self.app.clock.now() + timedelta(hours=1)).timestamp()))
        port = urlsplit(self.app.base_url).port
        host = cdn_host(self.app.config.host)
        location = (
            f"http://{host}:{port}/cdn/{key}?expires={expires}&signature={self._signature(key, expires)}"
            f"&name={quote(f.id)}"
        )
        return self._record(endpoint, Outcome(302, b"", {"Location": location}, content_type="text/html"))

    def _cdn(self, key: str, params: dict[str, str], headers: Any) -> Outcome:
        endpoint = "/cdn"
        if headers.get("Authorization") or "access_token" in params:
            message = "Only one auth mechanism allowed: a pre-signed URL takes no token."
            return self._record("/cdn (token received)", json_outcome(400, {"code": 400, "message": message}))
        expires = params.get("expires", "")
        good = hmac.compare_digest(self._signature(key, expires), params.get("signature", ""))
        host = (headers.get("Host") or "").rsplit(":", 1)[0]
        if not good or host != cdn_host(self.app.config.host):
            return self._record(endpoint, json_outcome(403, {"code": 403, "message": "Request not signed."}))
        if not expires.isdigit() or int(expires) < self.app.clock.now().timestamp():
            return self._record(endpoint, json_outcome(403, {"code": 403, "message": "Request has expired."}))
        f = self._file(key)
        if f is None:
            return self._record(endpoint, json_outcome(404, {"code": 404, "message": "Not found."}))
        return self._record(endpoint, self._serve(f, headers))

    def _serve(self, f: RecordingFile, headers: Any) -> Outcome:
        size = max(0, f.file_size - self.app.faults.settings.download_short_bytes)
        start, end, status = 0, size, 200
        wanted = headers.get("Range")
        if wanted:
            m = _RANGE.match(wanted.strip())
            if m is None:
                return json_outcome(416, {"code": 416, "message": f"Unsupported range {wanted!r}."})
            start = int(m.group(1))
            end = min(size, int(m.group(2)) + 1) if m.group(2) else size
            if start >= size or end <= start:
                return Outcome(416, b"", {"Content-Range": f"bytes */{size}"}, content_type="text/plain")
            status = 206
        out_headers = {
            "Accept-Ranges": "bytes",
            "Content-Disposition": f'attachment; filename="{f.id}.{f.file_extension.lower()}"',
        }
        if status == 206:
            out_headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        content_type = CONTENT_TYPES.get(f.file_type, "application/octet-stream")
        cut = self.app.faults.download_cut()
        return Outcome(
            status,
            b"",
            out_headers,
            content_type=content_type,
            chunks=_chunks(f, start, end),
            length=end - start,
            cut_after=cut,
        )


def _chunks(f: RecordingFile, start: int, end: int) -> Iterator[bytes]:
    if f.content:
        data = f.content.encode()
        for pos in range(start, end, BLOCK):
            yield data[pos : min(end, pos + BLOCK)]
        return
    body = MediaBody(f.file_type, f.file_size, f.seed)
    for pos in range(start, end, BLOCK):
        yield body.read(pos, min(end, pos + BLOCK))
