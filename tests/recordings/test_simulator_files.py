"""The simulator's recording files over loopback: token rules, the HTML page, redirect, ranges, bytes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from etl.simulator.downloads import download_url
from etl.simulator.media import MediaBody
from etl.simulator.model import RecordingFile


def _files(sim: Any) -> list[RecordingFile]:
    account, now = sim.account, sim.clock.now()
    return [
        f
        for u in account.users(now)
        for r in account.recordings(u.id, now - timedelta(days=40), now, now)
        for f in r.files
    ]


def _token(sim: Any) -> str:
    creds = sim.credentials
    response = httpx.post(
        sim.oauth_url,
        params={"grant_type": "account_credentials", "account_id": creds["account_id"]},
        auth=(creds["client_id"], creds["client_secret"]),
    )
    return str(response.json()["access_token"])


def test_file_bytes_are_of_the_stated_size_and_deterministic(simulator) -> None:
    files = _files(simulator)
    media = [f for f in files if f.file_type in ("MP4", "M4A")]
    assert media and all(64 <= f.file_size < 2_000_000 for f in media)  # small on tiny
    body = MediaBody(media[0].file_type, media[0].file_size, media[0].seed)
    whole = body.read(0, body.size)
    assert len(whole) == media[0].file_size and whole[4:8] == b"ftyp"
    assert body.read(100, 70_000) == whole[100:70_000]  # any range, computed without the file
    texts = [f for f in files if f.content]
    assert texts and all(len(f.content.encode()) == f.file_size for f in texts)


def test_bad_token_gets_an_html_page_with_200_and_a_good_one_a_redirect(simulator) -> None:
    f = next(f for f in _files(simulator) if f.file_type == "MP4")
    url = download_url(simulator.base_url, f.meeting_id, f.id)
    with httpx.Client() as client:
        page = client.get(url, headers={"Authorization": "Bearer nope"})
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert b"Only the host can download" in page.content
        token = _token(simulator)
        moved = client.get(url, params={"access_token": token})  # Zoom's query-string form
        assert moved.status_code == 302
        location = moved.headers["location"]
        assert location.startswith(f"http://localhost:{simulator.port}/cdn/") and token not in location
        leaked = client.get(location, headers={"Authorization": f"Bearer {token}"})
        assert leaked.status_code == 400 and simulator.stats()["by_endpoint"]["/cdn (token received)"] == 1
        whole = client.get(location)
        assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
        assert len(whole.content) == f.file_size and whole.headers["accept-ranges"] == "bytes"
        tail = client.get(location, headers={"Range": "bytes=1000-"})
        assert tail.status_code == 206 and tail.content == whole.content[1000:]
        assert tail.headers["content-range"] == f"bytes 1000-{f.file_size - 1}/{f.file_size}"
        past = client.get(location, headers={"Range": f"bytes={f.file_size}-"})
        assert past.status_code == 416
        forged = client.get(location.replace("signature=", "signature=0"))
        assert forged.status_code == 403


def test_meeting_recordings_lists_fresh_download_urls(simulator, zoom_client) -> None:
    from urllib.parse import quote

    f = next(f for f in _files(simulator) if f.file_type == "M4A")
    client = zoom_client(simulator)
    body = client.get_ok(f"/v2/meetings/{quote(quote(f.meeting_id, safe=''), safe='')}/recordings")
    urls = {item["download_url"] for item in body["recording_files"]}
    assert download_url(simulator.base_url, f.meeting_id, f.id) in urls
