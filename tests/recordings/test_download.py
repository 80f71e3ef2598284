"""``recordings download`` end to end: a synced warehouse, the simulator over loopback, files on disk."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from recording_kit import Synced, content, recorded_files
from simenv import RATE_SCALE, sim_environ

from etl.simulator.app import SimulatorConfig
from etl.simulator.clock import REFERENCE_EPOCH
from etl.simulator.generate import generate
from etl.simulator.profiles import get_profile
from etl.simulator.server import start


def _inventory(s: Synced) -> dict[str, tuple]:
    rows = s.query("SELECT file_id, status, path, bytes, sha256, error FROM zoom.recording_downloads")
    return {r[0]: r[1:] for r in rows}


def test_every_file_lands_whole_and_a_second_run_downloads_nothing(synced: Synced) -> None:
    truth = recorded_files(synced.sim)
    listed = synced.query("SELECT id, file_size FROM zoom.recording_files")
    assert len(listed) >= 20 and {t for t in (truth[i].file_type for i, _ in listed)} >= {"MP4", "TRANSCRIPT"}
    result = synced.download()
    assert (result.files, result.complete, result.failed) == (len(listed), len(listed), 0)
    inventory = _inventory(synced)
    for file_id, _size in listed:
        status, path, size, sha, error = inventory[file_id]
        data = (synced.out / path).read_bytes()
        assert status == "complete" and error is None
        assert data == content(truth[file_id]) and size == len(data)  # byte for byte what Zoom holds
        assert sha == hashlib.sha256(data).hexdigest()
    assert not list(synced.out.rglob("*.part"))
    mp4 = next(p for p in synced.out.rglob("*.mp4"))
    assert mp4.read_bytes()[4:8] == b"ftyp"
    served = synced.sim.stats()["by_endpoint"]
    assert served["/rec/download"] == len(listed) and served["/cdn"] == len(listed)

    again = synced.download()
    assert (again.already, again.complete, again.requests, again.bytes) == (len(listed), 0, 0, 0)
    assert synced.sim.stats()["by_endpoint"]["/rec/download"] == len(listed)  # not one request more


def test_layout_is_account_host_date_uuid_with_safe_names(synced: Synced) -> None:
    synced.download(types=frozenset({"M4A"}))
    rows = synced.query(
        "SELECT d.path, f.meeting_uuid, r.start_time, u.email, d.account_id FROM zoom.recording_downloads d"
        " JOIN zoom.recording_files f ON f.id = d.file_id"
        " JOIN zoom.recordings r ON r.meeting_uuid = f.meeting_uuid JOIN zoom.users u ON u.id = r.host_id"
    )
    assert rows
    for path, uuid, began, email, account in rows:
        parts = Path(path).parts
        assert parts[0] == account and parts[1] == email.replace("@", "_")
        assert parts[2] == f"{began:%Y-%m-%d}" and parts[3] == uuid.replace("/", "_").replace("+", "-")
        assert parts[4].endswith(".m4a") and " - M4A - " in parts[4]


def test_types_filter_and_transcripts_chat_and_captions_become_rows(synced: Synced) -> None:
    truth = recorded_files(synced.sim)
    result = synced.download(types=frozenset({"TRANSCRIPT", "CHAT", "CC"}))
    assert result.complete
    assert not list(synced.out.rglob("*.mp4"))
    segments = synced.query(
        "SELECT file_id, file_type, sequence, speaker, text, start_offset_ms, start_time"
        " FROM zoom.transcript_segments ORDER BY file_id, sequence"
    )
    assert len(segments) == result.segments > 0
    transcripts = {f for f, t, *_ in segments if t == "TRANSCRIPT"}
    for file_id in transcripts:
        cues = truth[file_id].content.count(" --> ")
        assert sum(1 for s in segments if s[0] == file_id) == cues
    spoken = [s for s in segments if s[1] == "TRANSCRIPT"]
    assert any(s[3] is None for s in spoken) and all(": " not in (s[4] or "")[:3] for s in spoken)
    first = spoken[0]
    start = truth[first[0]].recording_start
    assert first[6] == start + timedelta(milliseconds=first[5])
    if any(t == "CC" for _f, t, *_ in segments):
        assert all(s[3] is None for s in segments if s[1] == "CC")
    chat = synced.query("SELECT file_id, sender, message, offset_s FROM zoom.chat_messages")
    assert len(chat) == result.chat_messages > 0
    lines = sum(truth[f].content.count("\n") for f in {c[0] for c in chat})
    assert len(chat) == lines


def test_a_redirect_never_carries_the_token_and_a_foreign_host_is_refused(synced: Synced) -> None:
    result = synced.download(types=frozenset({"M4A"}))
    served = synced.sim.stats()["by_endpoint"]
    assert result.complete and served["/cdn"] == result.complete
    assert "/cdn (token received)" not in served  # the simulator refuses (400) a token sent to its CDN

    synced.sim.reset_stats()
    other = synced.download(types=frozenset({"MP4"}), allowed_hosts=(".zoom.us",))
    assert other.complete == 0 and other.failed == other.files > 0
    assert all("redirect to host 'localhost' refused" in e for e in other.errors)
    assert "/cdn" not in synced.sim.stats()["by_endpoint"]  # not followed at all
    assert not list(synced.out.rglob("*.mp4")) and not list(synced.out.rglob("*.part"))


def test_an_html_page_instead_of_the_file_is_a_failure_not_a_file(synced: Synced) -> None:
    synced.sim.set_faults(download_html=True)
    result = synced.download(types=frozenset({"MP4"}))
    assert result.failed == result.files > 0 and result.complete == 0
    inventory = _inventory(synced)
    assert {v[0] for v in inventory.values()} == {"failed"}
    assert all("html_page" in v[4] for v in inventory.values())
    assert not [p for p in synced.out.rglob("*") if p.is_file()]
    # a fresh token was tried once per file before giving up: two requests each
    assert synced.sim.stats()["by_endpoint"]["/rec/download"] == 2 * result.files

    synced.sim.set_faults(download_html=False)
    fixed = synced.download(types=frozenset({"MP4"}))
    assert fixed.complete == result.files and {v[0] for v in _inventory(synced).values()} == {"complete"}


def test_a_dropped_connection_resumes_with_range_and_ends_byte_identical(synced: Synced) -> None:
    truth = recorded_files(synced.sim)
    synced.sim.set_faults(download_drops=6, download_drop_bytes=20_000)
    result = synced.download(types=frozenset({"MP4"}), concurrency=1)
    assert result.failed == 0 and result.complete == result.files > 0
    assert result.resumed == 0  # resumed within the run: counted as received bytes, no earlier partial
    assert synced.sim.app.faults.injected["download_drop"] == 6
    ranges = synced.sim.stats()["by_status"].get("206", 0)
    assert ranges >= 1  # at least one attempt continued with Range (files under 20 kB end whole)
    for file_id, (status, path, size, _sha, _e) in _inventory(synced).items():
        data = (synced.out / path).read_bytes()
        assert status == "complete" and data == content(truth[file_id]) and size == len(data)


def test_a_short_file_is_a_size_mismatch_and_leaves_nothing(synced: Synced) -> None:
    synced.sim.set_faults(download_short_bytes=7)
    result = synced.download(types=frozenset({"M4A"}))
    assert result.failed == result.files > 0
    assert all("size_mismatch" in e and "Zoom lists" in e for e in result.errors)
    assert not [p for p in synced.out.rglob("*") if p.is_file()]


def test_processing_files_wait_for_the_next_run(synced_factory, tmp_path: Path) -> None:
    profile = replace(get_profile("tiny"), transcript_delay_minutes=40 * 24 * 60)
    config = SimulatorConfig(profile="tiny", seed=42, epoch=REFERENCE_EPOCH, rate_scale=RATE_SCALE)
    account = generate(profile, config.seed, epoch=config.epoch)
    sim = start(config, account=account)
    try:
        s = synced_factory(sim)
        first = s.download(types=frozenset({"TRANSCRIPT", "M4A"}))
        waiting = s.query("SELECT count(*) FROM zoom.recording_downloads WHERE status = 'processing'")[0][0]
        assert first.processing == waiting > 0 and first.failed == 0
        assert s.query("SELECT count(*) FROM zoom.transcript_segments")[0][0] < first.complete + 1_000_000
        sim.advance(days=41)  # Zoom finishes the transcripts; the fresh file list says so
        second = s.download(types=frozenset({"TRANSCRIPT", "M4A"}))
        assert second.complete >= waiting and second.processing == 0
        assert s.query("SELECT count(*) FROM zoom.recording_downloads WHERE status <> 'complete'")[0][0] == 0
        assert second.segments > 0
    finally:
        sim.stop()


def test_a_bad_transcript_file_is_recorded_as_a_reject(synced: Synced) -> None:
    synced.download(types=frozenset({"TRANSCRIPT"}))
    file_id, path, size = synced.query(
        "SELECT file_id, path, bytes FROM zoom.recording_downloads ORDER BY file_id LIMIT 1"
    )[0]
    (synced.out / path).write_bytes(b"X" * size)  # same size, not a WebVTT file
    synced.query("DELETE FROM zoom.recording_downloads WHERE file_id = ?", [file_id])
    result = synced.download(types=frozenset({"TRANSCRIPT"}))
    assert result.rejects == 1 and result.complete == 1
    reject = synced.query("SELECT table_name, reason, payload, stream FROM _etl.rejects")
    assert len(reject) == 1
    table, reason, payload, stream = reject[0]
    assert (
        table == "transcript_segments" and "not a WebVTT file" in reason and stream == "recordings download"
    )
    assert orjson.loads(payload)["file_id"] == file_id
    assert (
        synced.query("SELECT count(*) FROM zoom.transcript_segments WHERE file_id = ?", [file_id])[0][0] > 0
    )


def test_not_enough_disk_stops_before_any_download(synced: Synced) -> None:
    from etl.errors import DiskSpaceError

    with pytest.raises(DiskSpaceError, match="not enough free disk"):
        synced.download(min_free_bytes=10**18)
    assert "/rec/download" not in synced.sim.stats()["by_endpoint"]


def _cli(s: Synced, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **sim_environ(s.sim, s.warehouse)}
    command = [
        sys.executable,
        "-m",
        "etl",
        "recordings",
        "download",
        "--out",
        str(s.out),
        "--allow-host",
        "localhost",
    ]
    return subprocess.Popen(
        [*command, "--min-free-gb", "0", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


@pytest.mark.slow
def test_a_killed_run_resumes_and_ends_byte_identical(synced: Synced) -> None:
    truth = recorded_files(synced.sim)
    process = _cli(synced, "--types", "MP4", "--max-rate", "20kB/s", "--concurrency", "2")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        parts = [p for p in synced.out.rglob("*.part") if p.stat().st_size > 0]
        done = [p for p in synced.out.rglob("*.mp4")]
        if parts and done:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert parts, "the run ended before it could be killed midway"
    left = {p: p.stat().st_size for p in synced.out.rglob("*.part")}
    assert left and any(size > 0 for size in left.values())

    again = _cli(synced, "--types", "MP4")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()
    summary = orjson.loads(out.splitlines()[-1])
    # files renamed before the kill count as already there (or, killed before their inventory row was
    # committed, as complete after a checksum): none is fetched again from the start
    assert summary["failed"] == 0 and summary["resumed"] >= 1
    assert summary["already"] + summary["complete"] == summary["files"]
    total = sum(f.file_size for f in truth.values() if f.file_type == "MP4")
    assert summary["bytes"] < total - sum(left.values()) + 1  # what was on disk was not fetched again
    assert not list(synced.out.rglob("*.part"))
    for file_id, (status, path, _size, sha, _e) in _inventory(synced).items():
        data = (synced.out / path).read_bytes()
        assert (
            status == "complete"
            and data == content(truth[file_id])
            and sha == hashlib.sha256(data).hexdigest()
        )


def test_cli_exits_3_when_files_fail_and_prints_a_summary(synced: Synced) -> None:
    synced.sim.set_faults(download_html=True)
    process = _cli(synced, "--types", "M4A")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 3, err.decode()
    summary = orjson.loads(out.splitlines()[-1])
    assert summary["failed"] == summary["files"] > 0 and summary["errors"]
    assert "Bearer" not in err.decode() and "Bearer" not in out.decode()


def test_the_cron_sync_can_download_too(synced: Synced) -> None:
    env = {**os.environ, **sim_environ(synced.sim, synced.warehouse), "ZOOM_ETL_DOWNLOAD_HOSTS": "localhost"}
    command = [sys.executable, "-m", "etl", "sync", "--streams", "users,recordings"]
    done = subprocess.run(
        [*command, "--download-recordings", str(synced.out)], env=env, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    line = orjson.loads(done.stdout.splitlines()[-1])
    assert line["status"] == "ok" and line["recordings"][0]["complete"] == line["recordings"][0]["files"] > 0
    assert synced.query("SELECT count(*) FROM zoom.recording_downloads WHERE status = 'complete'")[0][0] > 0


def test_since_and_hosts_pick_a_subset(synced: Synced) -> None:
    (host, email), *_ = synced.query(
        "SELECT r.host_id, u.email FROM zoom.recordings r JOIN zoom.users u ON u.id = r.host_id"
        " GROUP BY ALL ORDER BY count(*) DESC LIMIT 1"
    )
    (middle,) = synced.query(
        "SELECT min(start_time) + (max(start_time) - min(start_time)) / 2 FROM zoom.recordings"
    )[0]
    by_host = synced.query(
        "SELECT count(*) FROM zoom.recording_files f JOIN zoom.recordings r USING (meeting_uuid)"
        " WHERE r.host_id = ?",
        [host],
    )[0][0]
    result = synced.download(
        hosts=(email.upper(),), types=frozenset({"M4A", "MP4", "TRANSCRIPT", "CHAT", "CC", "TIMELINE"})
    )
    assert result.files == result.complete == by_host > 0
    since = middle.date()
    later = synced.query(
        "SELECT count(*) FROM zoom.recording_files f JOIN zoom.recordings r USING (meeting_uuid)"
        " WHERE r.start_time >= ?",
        [since],
    )[0][0]
    assert (
        synced.download(since=since).files == later < len(synced.query("SELECT id FROM zoom.recording_files"))
    )


def test_files_downloaded_without_parsing_are_read_by_the_next_run(synced: Synced) -> None:
    first = synced.download(types=frozenset({"TRANSCRIPT", "CHAT"}), parse=False)
    assert first.complete > 0 and first.segments == first.chat_messages == 0
    assert synced.query("SELECT count(*) FROM zoom.transcript_segments")[0][0] == 0
    served = synced.sim.stats()["by_endpoint"]["/rec/download"]
    second = synced.download(types=frozenset({"TRANSCRIPT", "CHAT"}))
    assert second.already == first.complete and second.requests == 0
    assert second.segments > 0 and second.chat_messages > 0
    assert synced.sim.stats()["by_endpoint"]["/rec/download"] == served  # read from disk, not downloaded
    third = synced.download(types=frozenset({"TRANSCRIPT", "CHAT"}))
    assert third.segments == third.chat_messages == 0  # read once
