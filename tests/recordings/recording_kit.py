"""Helpers of the recordings tests: a synced account to download from, and the simulator's ground truth."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from etl.config import Settings
from etl.http.client import ZoomClient
from etl.recordings.download import ZOOM_HOSTS, Options, Result, Run
from etl.simulator.media import MediaBody
from etl.simulator.model import RecordingFile
from etl.simulator.server import RunningSimulator
from etl.warehouse.connection import Warehouse

CDN = ("localhost",)  # the simulator's second host name, standing for Zoom's file servers


@dataclass
class Synced:
    sim: RunningSimulator
    settings: Settings
    out: Path

    @property
    def warehouse(self) -> Path:
        return self.settings.warehouse

    def options(self, **changes: Any) -> Options:
        base = Options(out=self.out, allowed_hosts=ZOOM_HOSTS + CDN, min_free_bytes=0, backoff=0.01)
        return replace(base, **changes)

    def download(self, **changes: Any) -> Result:
        account = self.settings.accounts[0]
        with Warehouse.open(self.warehouse) as wh, ZoomClient(account, self.settings) as client:
            return Run(wh, client, account.account_id, self.options(**changes), "test-run").run()

    def query(self, sql: str, params: list[object] | None = None) -> list[tuple[Any, ...]]:
        with Warehouse.open(self.warehouse) as wh:
            return wh.conn.execute(sql, params or []).fetchall()


def recorded_files(sim: RunningSimulator) -> dict[str, RecordingFile]:
    """Every file of every recording listed now, by ``zoom.recording_files.id``."""
    account, now = sim.account, sim.clock.now()
    out: dict[str, RecordingFile] = {}
    for user in account.users(now):
        for recording in account.recordings(user.id, now - timedelta(days=400), now, now):
            for f in recording.files:
                key = f.id
                if f.file_type in ("CC", "TIMELINE"):
                    key = f"{f.file_type}|{f.meeting_id}|{f.recording_start:%Y-%m-%dT%H:%M:%SZ}"
                out[key] = f
    return out


def content(f: RecordingFile) -> bytes:
    if f.content:
        return f.content.encode()
    return MediaBody(f.file_type, f.file_size, f.seed).read(0, f.file_size)
