"""``GET /users/{userId}/recordings``: cloud recordings in a window of at most one month; and
``GET /meetings/{meetingId}/recordings``: one instance's recording (fresh download URLs, as Zoom makes them
per request). ``download_url`` points at the simulator itself (``etl.simulator.downloads``)."""

from __future__ import annotations

from typing import Any

from etl.simulator.downloads import download_url
from etl.simulator.model import ID_LESS_FILE_TYPES, Recording, RecordingFile
from etl.simulator.rest.common import Request, envelope, iso, meeting_instance, user, window
from etl.simulator.rest.errors import ApiError


def _file_item(f: RecordingFile, base_url: str) -> dict[str, object]:
    item: dict[str, object] = {
        "id": f.id,
        "meeting_id": f.meeting_id,
        "recording_start": iso(f.recording_start),
        "recording_end": iso(f.recording_end),
        "file_type": f.file_type,
        "file_extension": f.file_extension,
        "file_size": f.file_size,
        "play_url": f"https://zoom.us/rec/play/{f.id}",
        "download_url": download_url(base_url, f.meeting_id, f.id),
        "status": f.status,
        "recording_type": f.recording_type,
    }
    if f.file_type in ID_LESS_FILE_TYPES:
        for name in ("id", "status", "file_size", "recording_type", "play_url"):
            del item[name]
    return item


def recording_item(account_id: str, r: Recording, base_url: str = "https://zoom.us") -> dict[str, object]:
    return {
        "uuid": r.uuid,
        "id": r.id,
        "account_id": account_id,
        "host_id": r.host_id,
        "topic": r.topic,
        "type": str(r.type),
        "start_time": iso(r.start_time),
        "duration": r.duration,
        "total_size": r.total_size,
        "recording_count": len(r.files),
        "recording_files": [_file_item(f, base_url) for f in r.files],
    }


def list_recordings(req: Request) -> tuple[int, dict]:
    host = user(req)
    # Zoom: at most a month per call, and ``from`` defaults to today; no six-month floor here.
    w = window(req, required=False, recent=False)
    found = req.account.recordings(host.id, w.start, w.end, req.now)
    raw_id = req.query.get("meeting_id", "")
    if raw_id:
        if not raw_id.isdigit():
            raise ApiError(400, 300, f"Invalid field: meeting_id {raw_id!r}.")
        found = [r for r in found if r.id == int(raw_id)]
    if req.query.get("trash", "false") == "true":
        found = []
    page = req.page(found)
    base = str(req.extra.get("base_url") or "https://zoom.us")
    items = [recording_item(req.account.account_id, r, base) for r in page.items]
    return 200, {"from": w.first.isoformat(), "to": w.last.isoformat(), **envelope(page, "meetings", items)}


def meeting_recordings(req: Request) -> tuple[int, dict]:
    """One instance's recording; 3301 when it has none (yet)."""
    inst = meeting_instance(req)
    account: Any = req.account
    if not inst.has_recording or account.recording_ready_at(inst) > req.now:
        raise ApiError(404, 3301, "There is no recording for this meeting.")
    base = str(req.extra.get("base_url") or "https://zoom.us")
    return 200, recording_item(req.account.account_id, account.recording(inst, req.now), base)
