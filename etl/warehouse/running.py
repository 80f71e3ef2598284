"""The running sync's progress, in a small JSON file beside the warehouse, for ``zoom-etl status``.

The warehouse itself is locked while a sync writes it and its read copy shows the last finished sync, so a
sync in progress says where it is here: ``<warehouse>.progress.json``, replaced whole (write to a temporary
name, rename) after every committed batch. It is believed only while a process holds the warehouse's
writer lock: a file left behind by a killed sync is recognised as such and ignored.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from etl.warehouse.lock import WarehouseLock


def progress_path(warehouse: Path) -> Path:
    warehouse = warehouse.resolve()  # beside the real file, like the lock and the read copy
    return warehouse.with_name(warehouse.name + ".progress.json")


class RunProgress:
    """Written by the sync that holds the lock, one instance per run: first when it is made (the run has
    started), then after every committed batch."""

    def __init__(self, warehouse: Path, run_id: str, streams: tuple[str, ...], started_at: datetime) -> None:
        self.path = progress_path(warehouse)
        self._lock = threading.Lock()
        self.state: dict[str, Any] = {
            "run_id": run_id,
            "pid": os.getpid(),
            "started_at": started_at.isoformat(),
            "streams": list(streams),
            "accounts_done": [],
            "account": None,
            "rows_by_table": {},
            "requests_by_category": {},
            "sources": {},
        }
        self._write()

    def update(
        self,
        account_id: str,
        rows: Mapping[str, int],
        requests: Mapping[str, int],
        sources: Mapping[str, str],
    ) -> None:
        """After a committed batch: rows so far, requests so far, the source each started stream uses."""
        self.state.update(
            account=account_id,
            rows_by_table=dict(rows),
            requests_by_category=dict(requests),
            sources=dict(sources),
            updated_at=datetime.now(UTC).isoformat(),
        )
        self._write()

    def account_done(self, account_id: str) -> None:
        self.state["accounts_done"].append(account_id)
        self._write()

    def _write(self) -> None:
        with self._lock:  # the accounts of a run write it from their own threads
            temporary = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
            temporary.write_bytes(orjson.dumps(self.state))
            os.replace(temporary, self.path)

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def read_progress(warehouse: Path) -> dict[str, Any] | None:
    """The running sync's progress, or None when no process holds the warehouse (none runs, or the file
    is a killed sync's leftover)."""
    path = progress_path(warehouse)
    if not path.exists() or WarehouseLock(warehouse).holder() is None:
        return None
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None  # replaced between the check and the read: the next status call sees the new one
    return data if isinstance(data, dict) else None
