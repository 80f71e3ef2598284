"""Durability on disk: what makes a rename or a link survive a crash."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_directory(folder: Path) -> None:
    """Flush ``folder``'s entries: a rename or link into it is then durable (a crash after it must not
    bring the old name back, nor lose the new one)."""
    handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)
