"""One writer per warehouse: a non-blocking ``fcntl.flock`` on ``<warehouse>.lock``.

The kernel drops the lock when the holder exits, even after SIGKILL, so a crashed sync never leaves a
stale lock behind; the file itself is never deleted (deleting it would let two writers lock two
different files). The holder writes its pid into the file so the second writer can name it.

The lock belongs to the real file: a warehouse reached through a symlink (or a symlinked folder) is
locked beside its target, so two names for one file can never hold two locks.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from etl.errors import LockedError


class WarehouseLock:
    """Held from ``acquire()`` to ``release()``; a second process gets ``LockedError`` at once."""

    def __init__(self, warehouse: Path) -> None:
        real = warehouse.resolve()
        self.path = real.with_name(real.name + ".lock")
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise LockedError(
                f"warehouse {self.path.with_suffix('')} is in use by another zoom-etl process "
                f"(pid {holder}, lock file {self.path}); wait for it to finish"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def holder(self) -> str | None:
        """The pid written by the process holding the lock, or None if no process holds it (probed with
        a shared lock that is let go at once; never blocks)."""
        try:
            handle = open(self.path, encoding="utf-8")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return None
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return handle.read().strip() or "unknown"
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return None
