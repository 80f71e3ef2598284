"""``GET /users/{userId}/recordings``: cloud recordings in a window of at most one month."""

from __future__ import annotations

from etl.simulator.model import ID_LESS_FILE_TYPES, Recording, RecordingFile
from etl.simulator.rest.common import Request, envelope, iso, user, window
from etl.simulator.rest.errors import ApiError


def _file_item(f: RecordingFile) -> dict[str, object]:
    item: dict[str, object] = {
        "id": f.id,
        "meeting_id": f.meeting_id,
        "recording_start": iso(f.recording_start),
        "recording_end": iso(f.recording_end),
        "file_type": f.file_type,
        "file_extension": f.file_extension,
        "file_size": f.file_size,
        "play_url": f"https://zoom.us/rec/play/{f.id}",
        "download_url": f"https://zoom.us/rec/download/{f.id}",
        "status": f.status,
        "recording_type": f.recording_type,
    }
    if f.file_type in ID_LESS_FILE_TYPES:
        for name in ("id", "status", "file_size", "recording_type", "play_url"):
            del item[name]
    return item


def recording_item(account_id: str, r: Recording) -> dict[str, object]:
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
        "recording_files": [_file_item(f) for f in r.files],
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
    items = [recording_item(req.account.account_id, r) for r in page.items]
    return 200, {"from": w.first.isoformat(), "to": w.last.isoformat(), **envelope(page, "meetings", items)}
