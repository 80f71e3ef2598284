"""Parquet export: Hive-partitioned folders, each account's partitions replaced atomically, the others'
never touched.

An account's data in a table is one folder, ``OUT/<table>/account_id=<id>/``, and that folder is the unit
of replacement. An export builds the new folders in ``OUT/_zoom_etl/staging/<id>/`` (changed partitions
written by DuckDB, unchanged ones hard-linked from the current export, and whatever else a user keeps in
the account's folder linked too, since an export removes only files its manifest lists), then swaps them
in account by account:

1. the account's journal (``OUT/_zoom_etl/journal/<acct>.json``) is written: every (new folder, target)
   pair with the new folder's inode, and the account's new manifest;
2. each pair is swapped with one ``renameat2(RENAME_EXCHANGE)`` where Linux offers it (else two renames);
   a table that lost all the account's rows has its folder moved into the staging folder;
3. the manifest is written and the journal removed; the staging folder (now holding the replaced
   folders) is deleted.

A failure or kill before the journal exists leaves the account's previous data as it was (the next
export deletes the stale staging folder). After it, the export is decided: the next export of that
account rolls the journal forward (a pair whose target already has the recorded inode is done). Readers
see each table of an account either whole before or whole after, never a half-written folder.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import duckdb
import orjson

from etl import crashpoints
from etl.errors import WarehouseError
from etl.export.lake import (
    META,
    account_file,
    manifest_entry,
    meta,
    previous_partitions,
    read_manifest,
    write_json,
    write_manifest,
)
from etl.export.tables import Key, OnTable, TableResult, TableSpec, only_partitions, partition_hashes

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"

Pair = tuple[str, str, int | None]  # (new folder, target folder) relative to OUT; new folder's inode


def export_parquet(
    conn: duckdb.DuckDBPyConnection,
    specs: Sequence[TableSpec],
    out: Path,
    accounts: Sequence[str],
    marker: dict[str, Any],
    on_table: OnTable | None,
) -> list[TableResult]:
    recover(out, accounts)
    manifests = {a: read_manifest(out, "parquet", a, marker) for a in accounts}
    pairs: dict[str, list[Pair]] = {a: [] for a in accounts}
    results = []
    with _staging(out) as stage:
        for spec in specs:
            results.append(_parquet_table(conn, spec, out, stage, manifests, pairs))
            if on_table:
                on_table(results[-1])
            crashpoints.reach("export.after_table")
        crashpoints.reach("export.before_swap")
        for account in accounts:
            manifests[account]["duckdb"] = duckdb.__version__
            if pairs[account]:
                journal = meta(out, "journal") / f"{account_file(account)}.json"
                write_json(journal, {"pairs": pairs[account], "manifest": manifests[account]})
                _roll_forward(out, account, journal)
            else:
                write_manifest(out, account, manifests[account])
    return results


def _parquet_table(
    conn: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    out: Path,
    stage: Path,
    manifests: dict[str, dict[str, Any]],
    pairs: dict[str, list[Pair]],
) -> TableResult:
    hashes = partition_hashes(conn, spec)
    current, target = out / spec.folder, stage / spec.folder
    kept: dict[Key, dict[str, Any]] = {}
    removed: dict[str, list[Key]] = {}
    old_by_account = {a: previous_partitions(m, spec) for a, m in manifests.items()}
    for key, (digest, _) in hashes.items():
        prev = old_by_account.get(str(key[0]), {}).get(key)
        if prev and prev["hash"] == digest and all((current / f).is_file() for f in prev["files"]):
            kept[key] = prev
    changed = [k for k in hashes if k not in kept]
    for account, old in old_by_account.items():
        removed[account] = [k for k in old if k not in hashes]
    partitions: dict[Key, dict[str, Any]] = dict(kept)
    if changed:
        target.parent.mkdir(parents=True, exist_ok=True)
        with only_partitions(conn, spec, changed, every=len(hashes)) as query:
            conn.execute(
                f"COPY ({query}) TO '{_sql_path(target)}' (FORMAT parquet, COMPRESSION zstd, "
                f"PARTITION_BY ({', '.join(spec.partition_by)}))"
            )
        files: dict[Key, list[str]] = {}
        for path in sorted(target.rglob("*.parquet")):
            relative = path.relative_to(target)
            files.setdefault(_decode(relative.parts[:-1]), []).append(relative.as_posix())
        for key in changed:
            if key not in files:
                raise WarehouseError(f"export of {spec.key}: partition {key} was not written")
            digest, rows = hashes[key]
            partitions[key] = {"hash": digest, "rows": rows, "files": files[key]}
    for account, manifest in manifests.items():
        mine = {k: v for k, v in partitions.items() if k[0] == account}
        touched = any(k[0] == account for k in changed) or removed[account]
        if touched:
            old = old_by_account[account]
            folder = _account_folder(mine, old, account)
            for key in mine:
                if key in kept:
                    _link_files(current, target, kept[key]["files"])
            ours = {f for p in old.values() for f in p.get("files", [])}
            _carry_over(current / folder, target / folder, folder, ours)
            staged = target / folder
            inode = staged.stat().st_ino if staged.exists() else None
            prefix = f"{META}/staging/{stage.name}/{spec.folder}"
            pairs[account].append((f"{prefix}/{folder}", f"{spec.folder}/{folder}", inode))
        manifest["tables"][spec.key] = manifest_entry(spec, mine)
    return TableResult(
        spec.key,
        rows=sum(r for _, r in hashes.values()),
        partitions=len(hashes),
        written=len(changed),
        kept=len(kept),
        removed=sum(len(r) for r in removed.values()),
    )


def _account_folder(mine: dict[Key, dict[str, Any]], old: dict[Key, dict[str, Any]], account: str) -> str:
    """The account's folder as DuckDB encoded its name (``account_id=acc%202``), from a new or an old file."""
    for partition in (*mine.values(), *old.values()):
        for name in partition.get("files", []):
            return str(name.split("/", 1)[0])
    raise WarehouseError(f"export: no file names the folder of account {account}")


def _carry_over(current: Path, new: Path, folder: str, ours: set[str]) -> None:
    """Link everything in the account's current folder that exports did not write into its new folder
    (symlinks as links, empty folders as folders), so the swap removes only the export's own files."""
    if not current.is_dir():
        return
    for here_name, dirs, names in os.walk(current):
        here = Path(here_name)
        relative = here.relative_to(current)
        for name in list(dirs):
            if (here / name).is_symlink():  # os.walk does not descend into it; carry the link itself
                dirs.remove(name)
                names.append(name)
            elif not any((here / name).iterdir()):
                (new / relative / name).mkdir(parents=True, exist_ok=True)
        for name in names:
            path = relative / name
            if f"{folder}/{path.as_posix()}" in ours or (new / path).exists() or (new / path).is_symlink():
                continue
            (new / relative).mkdir(parents=True, exist_ok=True)
            try:
                os.link(current / path, new / path, follow_symlinks=False)
            except OSError:
                shutil.copy2(current / path, new / path, follow_symlinks=False)


# Swapping an account's folders in, and rolling a journal forward.


def _roll_forward(out: Path, account: str, journal: Path) -> None:
    entry = orjson.loads(journal.read_bytes())
    for staged_name, target_name, inode in entry["pairs"]:
        staged, target = out / staged_name, out / target_name
        target.parent.mkdir(parents=True, exist_ok=True)
        if inode is None:  # the account has nothing left in this table: move its folder out
            if target.exists():
                staged.parent.mkdir(parents=True, exist_ok=True)
                os.rename(target, staged)
        elif not (target.exists() and target.stat().st_ino == inode):
            _swap_in(staged, target)
        crashpoints.reach("export.mid_swap")
    write_manifest(out, account, entry["manifest"])
    journal.unlink()


def _swap_in(new: Path, target: Path) -> None:
    if not target.exists():
        os.rename(new, target)
    elif not _exchange(new, target):
        os.rename(target, new.with_name(new.name + ".old"))
        os.rename(new, target)  # a crash right before this line is repaired by the journal


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths with Linux ``renameat2(RENAME_EXCHANGE)``; False if unavailable."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(ctypes.get_errno(), f"cannot swap {a} and {b}")


def recover(out: Path, accounts: Sequence[str]) -> None:
    """Finish what a killed export of these accounts decided (their journals), then delete staging
    folders no live export holds and no journal needs. Called with the accounts' locks held."""
    journals = meta(out, "journal")
    for account in accounts:
        journal = journals / f"{account_file(account)}.json"
        if journal.exists():
            _roll_forward(out, account, journal)
    needed = _needed(out)
    staging = meta(out, "staging")
    for folder in staging.iterdir():
        if folder.suffix == ".lock" or folder.name in needed:
            continue
        lock = staging / f"{folder.name}.lock"
        with open(lock, "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live export's
            shutil.rmtree(folder, ignore_errors=True)
            lock.unlink(missing_ok=True)


@contextmanager
def _staging(out: Path) -> Iterator[Path]:
    """A staging folder this export holds (an flock on ``<id>.lock`` beside it, taken before it exists)."""
    folder = meta(out, "staging")
    name = uuid.uuid4().hex[:12]
    lock = folder / f"{name}.lock"
    with open(lock, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        stage = folder / name
        stage.mkdir()
        try:
            yield stage
        finally:
            if name not in _needed(out):
                shutil.rmtree(stage, ignore_errors=True)
                lock.unlink(missing_ok=True)


def _needed(out: Path) -> set[str]:
    """The staging folders a journal (a decided swap not finished) still refers to. Other exports'
    journals come and go meanwhile: one removed between listing and reading needs nothing."""
    names = set()
    for path in (out / META / "journal").glob("*.json"):
        try:
            pairs = orjson.loads(path.read_bytes())["pairs"]
        except FileNotFoundError:
            continue
        names |= {Path(staged).parts[2] for staged, _, _ in pairs}
    return names


def _decode(parts: Sequence[str]) -> Key:
    values = [unquote(part.split("=", 1)[1]) for part in parts]
    return tuple(None if v == NULL_PARTITION else v for v in values)


def _link_files(source: Path, target: Path, files: Sequence[str]) -> None:
    """Hard links (no rewrite, same inode and mtime); a copy where the file system has no links."""
    for name in files:
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source / name, target / name)
        except OSError:
            shutil.copy2(source / name, target / name)


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
