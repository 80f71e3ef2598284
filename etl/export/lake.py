"""The export root ("the lake") as many accounts share it: the root marker, one manifest and one lock per
account.

::

    OUT/_zoom_etl_export.json             the root marker: {"format": "parquet"|"delta", "layout": 2}
    OUT/_zoom_etl/accounts/<acct>.json    an account's manifest: columns and partition hashes per table
    OUT/_zoom_etl/locks/<acct>.lock       held (flock) by the export writing that account
    OUT/_zoom_etl/journal/<acct>.json     Parquet: a swap in progress (see ``etl.export.parquet``)
    OUT/_zoom_etl/staging/<id>/           Parquet: an export being built

``<acct>`` is the account id URL-encoded. An export owns the accounts its warehouse holds rows of, and
takes their locks (never waiting: a held lock is ``LockedError``), so exports of different accounts run
side by side, in separate processes, and two exports of one account never do. The marker is written once,
under an flock on the root folder itself, so two first exports into an empty root agree.

A root written before layout 2 (one manifest for the whole folder, with every account's partitions in
it) stays readable: an account without its own manifest takes its partitions from that one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote as url_quote

import duckdb
import orjson

from etl.errors import ConfigError, LockedError
from etl.export.tables import Key, TableSpec

MANIFEST = "_zoom_etl_export.json"
META = "_zoom_etl"
LAYOUT = 2


def account_file(account: str) -> str:
    return url_quote(account, safe="")


def meta(out: Path, kind: str) -> Path:
    folder = out / META / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_json(path: Path, value: Any) -> None:
    """Atomically: a reader, or a crash, sees the old file or the new one."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)


# The root.


def open_root(out: Path, fmt: str) -> dict[str, Any]:
    """Create or check the export root; returns its marker. Refuses a folder that is not one of ours."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, not a directory")
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # brief: only while the marker is checked or written
        path = out / MANIFEST
        if not path.exists():
            if any(out.iterdir()):
                raise ConfigError(f"--out {out}: not empty and not a zoom-etl export; refusing to replace it")
            write_json(path, {"format": fmt, "layout": LAYOUT})
        marker: dict[str, Any] = orjson.loads(path.read_bytes())
    finally:
        os.close(fd)  # closing releases the flock
    if marker.get("format") != fmt:
        raise ConfigError(f"--out {out}: holds a {marker.get('format')} export, not {fmt}; choose another")
    return marker


# Locks.


@contextmanager
def account_locks(out: Path, accounts: Sequence[str]) -> Iterator[None]:
    """Hold every account's lock, or none: a lock another export holds is ``LockedError``."""
    folder = meta(out, "locks")
    with ExitStack() as stack:
        for account in sorted(accounts):
            path = folder / f"{account_file(account)}.lock"
            handle = stack.enter_context(open(path, "a+", encoding="utf-8"))
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LockedError(
                    f"another zoom-etl export is writing account {account} in {out} (lock file {path})"
                ) from None
        yield


# Manifests.


def new_manifest(fmt: str) -> dict[str, Any]:
    return {"format": fmt, "duckdb": duckdb.__version__, "tables": {}}


def read_manifest(out: Path, fmt: str, account: str, marker: dict[str, Any]) -> dict[str, Any]:
    """The account's manifest, as its previous export left it. Hashes from another DuckDB version may
    differ: such a manifest keeps its tables' files (so they are replaced) but no hashes."""
    path = out / META / "accounts" / f"{account_file(account)}.json"
    if path.exists():
        manifest: dict[str, Any] = orjson.loads(path.read_bytes())
    elif marker.get("tables"):  # a root written before layout 2
        manifest = {**marker, "tables": {}}
        for table, entry in marker["tables"].items():
            mine = [p for p in (entry or {}).get("partitions", []) if p["values"][0] == account]
            if mine:
                manifest["tables"][table] = {**entry, "partitions": mine}
    else:
        return new_manifest(fmt)
    if manifest.get("duckdb") != duckdb.__version__:
        stale = {t: _without_hashes(e) for t, e in manifest.get("tables", {}).items()}
        manifest = {**new_manifest(fmt), "tables": stale}
    return manifest


def _without_hashes(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "partitions": [{**p, "hash": None} for p in entry.get("partitions", [])]}


def write_manifest(out: Path, account: str, manifest: dict[str, Any]) -> None:
    write_json(meta(out, "accounts") / f"{account_file(account)}.json", manifest)


def previous_partitions(manifest: dict[str, Any], spec: TableSpec) -> dict[Key, dict[str, Any]]:
    """Partitions of the previous export; their hashes are dropped when the table's columns changed."""
    entry = manifest["tables"].get(spec.key) or {}
    same = [list(c) for c in spec.columns] == entry.get("columns")
    return {tuple(p["values"]): p if same else {**p, "hash": None} for p in (entry.get("partitions") or [])}


def manifest_entry(spec: TableSpec, partitions: dict[Key, dict[str, Any]]) -> dict[str, Any]:
    return {
        "columns": [list(c) for c in spec.columns],
        "partition_by": list(spec.partition_by),
        "partitions": [{"values": list(k), **v} for k, v in sorted(partitions.items(), key=_sort_key)],
    }


def _sort_key(item: tuple[Key, Any]) -> tuple[str, ...]:
    return tuple(v or "" for v in item[0])
