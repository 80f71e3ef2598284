"""Where a recording file is written, below the download folder:

    <account_id>/<host email, else host id>/<YYYY-MM-DD of the meeting start, UTC>/<meeting uuid>/
        <topic> - <file_type> - <first 8 characters of the file key>.<extension>

Names are made safe for every common file system: a uuid's ``/`` and ``+`` become ``_`` and ``-`` (the
base64url alphabet, so two uuids never collide), and the topic keeps letters, digits, spaces and
``-_.,()&'``, everything else becoming ``_``, cut to 80 characters, never empty, never a Windows device
name, never ending in a dot or a space. The file key's prefix keeps two files of one kind apart.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from pathlib import PurePosixPath

_UNSAFE = re.compile(r"[^\w \-.,()&']+", re.UNICODE)
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def safe_name(text: str, limit: int = 80) -> str:
    name = unicodedata.normalize("NFKC", text or "")
    name = _UNSAFE.sub("_", name)
    name = " ".join(name.split())[:limit].strip(" .")
    if not name or name.lower().split(".")[0] in _RESERVED:
        name = f"_{name}" if name else "untitled"
    return name


def safe_uuid(uuid: str) -> str:
    return uuid.replace("/", "_").replace("+", "-")


def relative_path(
    *,
    account_id: str,
    host: str,
    start_time: datetime | None,
    meeting_uuid: str,
    topic: str,
    file_type: str,
    file_key: str,
    extension: str,
) -> PurePosixPath:
    day = start_time.strftime("%Y-%m-%d") if start_time is not None else "undated"
    key = (
        file_key
        if re.fullmatch(r"[0-9a-fA-F-]{8,}", file_key)
        else hashlib.sha256(file_key.encode()).hexdigest()
    )
    ext = safe_name(extension or "bin", 10).lower()
    name = f"{safe_name(topic)} - {safe_name(file_type, 20)} - {key[:8]}.{ext}"
    return PurePosixPath(safe_name(account_id), safe_name(host), day, safe_uuid(meeting_uuid), name)
