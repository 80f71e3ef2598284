"""The read copy: what every reader opens, published whole after each sync, never written in place.

DuckDB lets one process open a database file for writing and then no other process may open it at all,
not even read-only; and a reader holding the file open stops the next sync from opening it. So the sync
writes its own file (the warehouse, ``zoom_etl.duckdb``) and, when it ends, publishes a copy of it
beside it (``zoom_etl_read.duckdb``) for everything that only reads: ``zoom-etl sql``, ``report``,
``status``, ``docs`` and ``export``, the DuckDB CLI, notebooks, DBeaver, dbt.

Publishing happens while the writer still holds the warehouse lock and after its DuckDB connection is
closed (so the file is checkpointed, with no write-ahead log beside it): the file is cloned (a reflink
where the file system has them, else a plain copy) to a temporary name in the same folder, flushed to
disk, and renamed over the read copy. A rename is atomic: a reader that opens the read path gets either
the previous version or the new one, whole; a reader that has it open keeps reading the version it
opened (its open file is not touched) until it reconnects. A sync that is killed publishes nothing, so
readers never see a half-finished sync, let alone half a batch.

Costs: the read copy takes as much disk again as the warehouse, and each publish copies the whole file
(measured in the README, "Analysts beside the cron").
"""

from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from etl.durable import fsync_directory

log = logging.getLogger(__name__)

_FICLONE = 0x40049409  # linux/fs.h: share the source's blocks (btrfs, XFS, bcachefs); else EOPNOTSUPP


@dataclass(frozen=True, slots=True)
class Published:
    """One publish: where, how many bytes, how long, and whether the blocks were shared or copied."""

    path: Path
    bytes: int
    seconds: float
    cloned: bool


def read_path(warehouse: Path) -> Path:
    """The read copy of ``warehouse``: ``<stem>_read<suffix>`` beside it (``zoom_etl_read.duckdb``).

    DuckDB names a file's catalog after its name up to the first dot, so the read copy of
    ``zoom_etl.duckdb`` opens as catalog ``zoom_etl_read`` and never clashes with the schema ``zoom``.
    Beside the real file: a warehouse reached through a symlink has one read copy, not one per name."""
    warehouse = warehouse.resolve()
    return warehouse.with_name(f"{warehouse.stem}_read{warehouse.suffix}")


def reading_path(warehouse: Path) -> Path:
    """What a reader should open: the read copy once one was published, else the warehouse itself (one
    synced by a version without read copies; it is locked while a sync runs)."""
    published = read_path(warehouse)
    return published if published.exists() else warehouse


def publish(warehouse: Path) -> Published:
    """Publish ``warehouse`` (closed, checkpointed, its writer lock held by the caller) as its read copy."""
    started = time.monotonic()
    target = read_path(warehouse)
    for stale in target.parent.glob(f"{target.name}.tmp-*"):  # a publish killed midway (we hold the lock)
        stale.unlink(missing_ok=True)
    temporary = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    try:
        cloned = _clone_or_copy(warehouse, temporary)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)
    result = Published(target, target.stat().st_size, time.monotonic() - started, cloned)
    log.info(
        "published the read copy %s (%.1f MB, %s) in %.2fs",
        target,
        result.bytes / 1e6,
        "cloned" if cloned else "copied",
        result.seconds,
    )
    return result


def _clone_or_copy(source: Path, target: Path) -> bool:
    """Write ``target`` as a copy of ``source``, flushed to disk; True if the blocks were shared."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
            cloned = True
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS):
                raise
            size, offset = os.fstat(src.fileno()).st_size, 0
            while offset < size:  # in the kernel, without passing the bytes through Python
                sent = os.sendfile(dst.fileno(), src.fileno(), offset, size - offset)
                if sent == 0:
                    break
                offset += sent
            cloned = False
        dst.flush()
        os.fsync(dst.fileno())
    shutil.copymode(source, target)
    return cloned
