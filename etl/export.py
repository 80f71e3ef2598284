"""BI export of the core tables (schema ``zoom``) as Hive-partitioned Parquet or Delta Lake tables.

Layout: ``OUT/<table>/account_id=<id>/date=<YYYY-MM-DD>/...`` for fact tables, where ``date`` is the UTC day
of the table's natural time column (``FACT_DATES``; daily_usage's own ``date`` column), and
``OUT/<table>/account_id=<id>/...`` for dimensions and SCD2 history tables. Partition columns are in the
directory names, not in the files (the Hive convention Spark, Trino, DuckDB and Polars read back); a NULL
day is ``date=__HIVE_DEFAULT_PARTITION__``. JSON columns are written as text. Only schema ``zoom`` is
exported: never ``raw`` (payloads as received) nor ``_etl`` (rejects carry payloads too).

Incremental: ``OUT/_zoom_etl_export.json`` keeps, per table, the column list and a content hash per
partition (row count, sum and xor of DuckDB's ``hash`` of every row, computed in one GROUP BY). A later
export rewrites only partitions whose hash changed, drops partitions that no longer have rows, and keeps
the rest untouched. A new column (schema drift) or another DuckDB version (hashes may differ) rewrites the
whole table.

Atomicity. Parquet: the new export is built in ``.OUT.tmp-*`` beside OUT (unchanged partitions are
hard-linked from the previous export, not copied), then swapped in with one ``renameat2(RENAME_EXCHANGE)``
where Linux offers it, else with two renames (a crash between them is repaired by the next export). Any
failure removes the temp dir and leaves the previous export as it was. Delta: one commit per table, see
``etl.export_delta``. A lock file beside OUT keeps two exports from writing it at once.

An export removes only what exports wrote: the files the previous manifest lists. Anything else in OUT
(a user's notes, a BI tool's files, folders, symlinks) is hard-linked into the new export before the
swap, so it survives. OUT given as a symlink is followed: the export is built beside, and swapped into,
the folder it points to, and the link stays.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import duckdb
import orjson
import pyarrow as pa

from etl import crashpoints
from etl.contracts import load_contracts, quote
from etl.errors import ConfigError, LockedError, WarehouseError

FORMATS = ("parquet", "delta")
MANIFEST = "_zoom_etl_export.json"
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
# A fact table's time column, from its contract (``time_column``); tables without one: by account only.
FACT_DATES = {c.table: c.time_column for c in load_contracts().values() if c.time_column}

Key = tuple[str | None, ...]  # partition values: (account_id,) or (account_id, ISO day or None)


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One exported table: its warehouse columns and how it is partitioned."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (name, DuckDB type), warehouse order
    date_column: str | None  # fact tables: the column whose UTC day is the ``date`` partition

    @property
    def partition_by(self) -> tuple[str, ...]:
        return ("account_id", "date") if self.date_column else ("account_id",)

    def select(self) -> str:
        """The rows as exported: JSON as text, plus the ``date`` partition column for fact tables."""
        items = [f"{quote(n)}::VARCHAR AS {quote(n)}" if t == "JSON" else quote(n) for n, t in self.columns]
        if self.date_column and self.date_column != "date":
            items.append(f"({quote(self.date_column)} AT TIME ZONE 'UTC')::DATE AS date")
        return f"SELECT {', '.join(items)} FROM zoom.{quote(self.name)}"


@dataclass(frozen=True, slots=True)
class TableResult:
    table: str
    rows: int
    partitions: int
    written: int  # partitions (re)written by this export
    kept: int  # partitions left as they were
    removed: int  # partitions that had no rows any more


@dataclass(frozen=True, slots=True)
class ExportResult:
    format: str
    out: Path
    tables: tuple[TableResult, ...]

    def to_arrow(self) -> pa.Table:
        names = ("table", "rows", "partitions", "written", "kept", "removed")
        return pa.table({n: [getattr(t, n) for t in self.tables] for n in names})


OnTable = Callable[[TableResult], None]


def table_specs(conn: duckdb.DuckDBPyConnection) -> dict[str, TableSpec]:
    """Every base table of schema ``zoom`` (history tables and drift-added columns included), but never
    a rebuild's staging tables (``_rebuild_<table>``: a killed rebuild leaves them until the warehouse is
    next opened for writing, and a warehouse without a read copy is what readers open)."""
    rows = conn.execute(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c"
        " JOIN information_schema.tables t USING (table_schema, table_name)"
        " WHERE c.table_schema = 'zoom' AND t.table_type = 'BASE TABLE'"
        " AND NOT starts_with(c.table_name, '_')"
        " ORDER BY c.table_name, c.ordinal_position"
    ).fetchall()
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, type_ in rows:
        columns.setdefault(table, []).append((column, type_))
    return {t: TableSpec(t, tuple(cols), FACT_DATES.get(t)) for t, cols in columns.items()}


def partition_hashes(conn: duckdb.DuckDBPyConnection, spec: TableSpec) -> dict[Key, tuple[str, int]]:
    """Content hash and row count of every partition, computed by DuckDB in one pass."""
    keys = "account_id, date" if spec.date_column else "account_id"
    rows = conn.execute(
        f"SELECT {keys}, count(*), sum(hash(t))::VARCHAR || ':' || bit_xor(hash(t))::VARCHAR"
        f" FROM ({spec.select()}) AS t GROUP BY ALL"
    ).fetchall()
    out: dict[Key, tuple[str, int]] = {}
    for row in rows:
        *values, count, digest = row
        key = tuple(v.isoformat() if isinstance(v, date) else v for v in values)
        out[key] = (f"{count}:{digest}", int(count))
    return out


def export(
    conn: duckdb.DuckDBPyConnection,
    fmt: str,
    out: Path,
    tables: Sequence[str] | None = None,
    on_table: OnTable | None = None,
) -> ExportResult:
    """Export ``tables`` (default: all) of the warehouse behind ``conn`` to ``out`` as ``fmt``."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    specs = table_specs(conn)
    unknown = sorted(set(tables or ()) - set(specs))
    if unknown:
        raise ConfigError(
            f"--tables: unknown table(s) {', '.join(unknown)}; known: {', '.join(sorted(specs))}"
        )
    chosen = [specs[t] for t in sorted(set(tables))] if tables else list(specs.values())
    out = out.absolute()
    if out.is_symlink():  # export into the folder it points to; swapping would replace the link itself
        out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with _export_lock(out):
        _recover(out)
        manifest = _read_manifest(out, fmt)
        if fmt == "parquet":
            results = _export_parquet(conn, chosen, out, manifest, on_table)
        else:
            from etl.export_delta import export_delta  # imports this module: loaded on use

            results = export_delta(conn, chosen, out, manifest, on_table)
    return ExportResult(fmt, out, tuple(results))


# Manifest and target checks.


def _new_manifest(fmt: str) -> dict[str, Any]:
    return {"format": fmt, "duckdb": duckdb.__version__, "tables": {}}


def _read_manifest(out: Path, fmt: str) -> dict[str, Any]:
    """The previous export's manifest; refuses to touch a directory that is not one of our exports."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: is a file, not a directory")
    path = out / MANIFEST
    if not path.exists():
        if out.exists() and any(out.iterdir()):
            raise ConfigError(f"--out {out}: not empty and not a zoom-etl export; refusing to replace it")
        return _new_manifest(fmt)
    manifest: dict[str, Any] = orjson.loads(path.read_bytes())
    if manifest.get("format") != fmt:
        raise ConfigError(f"--out {out}: holds a {manifest.get('format')} export, not {fmt}; choose another")
    if manifest.get("duckdb") != duckdb.__version__:
        manifest = {**_new_manifest(fmt), "tables": {t: {} for t in manifest.get("tables", {})}}
    return manifest


def previous_partitions(manifest: dict[str, Any], spec: TableSpec) -> dict[Key, dict[str, Any]]:
    """Partitions of the previous export, or none when the table's columns changed since."""
    entry = manifest["tables"].get(spec.name) or {}
    if [list(c) for c in spec.columns] != entry.get("columns"):
        return {}
    return {tuple(p["values"]): p for p in entry.get("partitions", [])}


def manifest_entry(spec: TableSpec, partitions: dict[Key, dict[str, Any]]) -> dict[str, Any]:
    return {
        "columns": [list(c) for c in spec.columns],
        "partition_by": list(spec.partition_by),
        "partitions": [{"values": list(k), **v} for k, v in sorted(partitions.items(), key=_sort_key)],
    }


def _sort_key(item: tuple[Key, Any]) -> tuple[str, ...]:
    return tuple(v or "" for v in item[0])


def write_manifest(directory: Path, manifest: dict[str, Any]) -> None:
    tmp = directory / f".{MANIFEST}.tmp"
    tmp.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    os.replace(tmp, directory / MANIFEST)


# Parquet.


def _export_parquet(
    conn: duckdb.DuckDBPyConnection,
    specs: list[TableSpec],
    out: Path,
    manifest: dict[str, Any],
    on_table: OnTable | None,
) -> list[TableResult]:
    new = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    new.mkdir()
    try:
        chosen = {s.name for s in specs}
        for name, entry in manifest["tables"].items():  # tables not asked for: carried over as they are
            if name not in chosen and entry:
                for partition in entry["partitions"]:
                    _link_files(out / name, new / name, partition["files"])
        results = []
        for spec in specs:
            result, partitions = _parquet_table(conn, spec, out, new, previous_partitions(manifest, spec))
            manifest["tables"][spec.name] = manifest_entry(spec, partitions)
            results.append(result)
            if on_table:
                on_table(result)
            crashpoints.reach("export.after_table")
        manifest["duckdb"] = duckdb.__version__
        write_manifest(new, manifest)
        _carry_over(out, new, _written_files(out))
        crashpoints.reach("export.before_swap")
        _swap_in(new, out)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    return results


def _parquet_table(
    conn: duckdb.DuckDBPyConnection, spec: TableSpec, out: Path, new: Path, old: dict[Key, dict[str, Any]]
) -> tuple[TableResult, dict[Key, dict[str, Any]]]:
    hashes = partition_hashes(conn, spec)
    kept = {
        k: old[k]
        for k, (digest, _) in hashes.items()
        if k in old
        and old[k]["hash"] == digest
        and all((out / spec.name / f).is_file() for f in old[k]["files"])
    }
    changed = [k for k in hashes if k not in kept]
    target = new / spec.name
    partitions: dict[Key, dict[str, Any]] = {}
    if changed:
        with only_partitions(conn, spec, changed if len(changed) < len(hashes) else None) as query:
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
                raise WarehouseError(f"export of {spec.name}: partition {key} was not written")
            digest, rows = hashes[key]
            partitions[key] = {"hash": digest, "rows": rows, "files": files[key]}
    target.mkdir(exist_ok=True)
    for key, partition in kept.items():
        _link_files(out / spec.name, target, partition["files"])
        partitions[key] = partition
    result = TableResult(
        spec.name,
        rows=sum(r for _, r in hashes.values()),
        partitions=len(hashes),
        written=len(changed),
        kept=len(kept),
        removed=len(set(old) - set(hashes)),
    )
    return result, partitions


def _written_files(out: Path) -> set[str]:
    """What exports wrote in ``out`` (paths relative to it): the files its manifest lists, and the
    manifest. Read from the file itself, whatever DuckDB version wrote it."""
    path = out / MANIFEST
    if not path.is_file():
        return set()
    manifest = orjson.loads(path.read_bytes())
    listed = {
        f"{table}/{name}"
        for table, entry in (manifest.get("tables") or {}).items()
        for partition in (entry or {}).get("partitions", [])
        for name in partition.get("files", [])
    }
    return listed | {MANIFEST, f".{MANIFEST}.tmp"}


def _carry_over(out: Path, new: Path, ours: set[str]) -> None:
    """Link everything in ``out`` that exports did not write into ``new`` at the same place (symlinks
    as links, empty folders as folders), so the swap removes only the export's own files."""
    if not out.is_dir():
        return
    for folder, dirs, names in os.walk(out):
        here = Path(folder)
        relative = here.relative_to(out)
        for name in list(dirs):
            if (here / name).is_symlink():  # os.walk does not descend into it; carry the link itself
                dirs.remove(name)
                names.append(name)
            elif not any((here / name).iterdir()):
                (new / relative / name).mkdir(parents=True, exist_ok=True)
        for name in names:
            path = relative / name
            if path.as_posix() in ours or (new / path).exists() or (new / path).is_symlink():
                continue
            (new / relative).mkdir(parents=True, exist_ok=True)
            try:
                os.link(out / path, new / path, follow_symlinks=False)
            except OSError:
                shutil.copy2(out / path, new / path, follow_symlinks=False)


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


@contextmanager
def only_partitions(
    conn: duckdb.DuckDBPyConnection, spec: TableSpec, keys: list[Key] | None
) -> Iterator[str]:
    """The export query, limited to the partitions in ``keys`` (None: all rows)."""
    if keys is None:
        yield spec.select()
        return
    name = f"_export_keys_{uuid.uuid4().hex[:8]}"
    columns: dict[str, pa.Array] = {"account_id": pa.array([k[0] for k in keys], pa.string())}
    on = "s.account_id = k.account_id"
    if spec.date_column:
        days = [date.fromisoformat(k[1]) if k[1] else None for k in keys]
        columns["date"] = pa.array(days, pa.date32())
        on += " AND s.date IS NOT DISTINCT FROM k.date"
    conn.register(name, pa.table(columns))
    try:
        yield f"SELECT s.* FROM ({spec.select()}) AS s SEMI JOIN {name} AS k ON {on}"
    finally:
        conn.unregister(name)


# Swapping a finished export in.


def _sibling(out: Path, suffix: str) -> Path:
    return out.parent / f".{out.name}.{suffix}"


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


def _swap_in(new: Path, out: Path) -> None:
    if not out.exists():
        os.rename(new, out)
        return
    if _exchange(new, out):
        shutil.rmtree(new)  # ``new`` now holds the previous export
        return
    old = _sibling(out, "old")
    os.rename(out, old)
    os.rename(new, out)  # a crash right before this line is repaired by _recover
    shutil.rmtree(old)


def _recover(out: Path) -> None:
    """Repair what a crashed export left: put a moved-away export back, drop temp dirs."""
    old = _sibling(out, "old")
    if old.exists():
        if out.exists():
            shutil.rmtree(old)
        else:
            os.rename(old, out)
    for stale in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def _export_lock(out: Path) -> Iterator[None]:
    path = _sibling(out, "export.lock")
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockedError(f"another zoom-etl export is writing {out} (lock file {path})") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
