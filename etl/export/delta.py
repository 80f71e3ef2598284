"""Delta Lake export: one Delta table per exported table, shared by every account, partitioned like the
Parquet export (``account_id``, and ``date`` for fact tables).

Each table changes in ONE Delta commit per export: a predicate overwrite replacing only this export's
accounts' partitions whose content hash changed or that lost their rows (or all of an account's rows,
for an account the table does not know from this root's manifests yet). Other accounts' files are never
in the predicate, so any number of exports of other accounts commit to the same table, in other
processes, at the same time: Delta's optimistic concurrency decides, and a commit that loses a race
(``CommitFailedError``) is retried from the warehouse, up to ``COMMIT_ATTEMPTS`` times. A failure leaves
the table at its previous version. The account's manifest (``etl.export.lake``) is written after each
commit; a kill in between only makes the next export rewrite those partitions again (a predicate
overwrite is idempotent).

Old files. A Delta table keeps the files its later versions replaced (for time travel) until a vacuum
removes them; until then a plain Parquet reader of the folder reads old and new rows alike. Every export
ends with a vacuum of the tables it wrote, removing files replaced more than ``vacuum_hours`` ago
(default ``DEFAULT_VACUUM_HOURS``, Delta's own 7 days). It removes only files a commit replaced, never a
file a concurrent export has written but not yet committed. The ``deltalake`` package is the optional
extra ``delta``; without it the export is a ``ConfigError``.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from etl import crashpoints
from etl.errors import ConfigError, WarehouseError
from etl.export.lake import manifest_entry, previous_partitions, read_manifest, write_manifest
from etl.export.tables import Key, OnTable, TableResult, TableSpec, only_partitions, partition_hashes

DEFAULT_VACUUM_HOURS = 168
COMMIT_ATTEMPTS = 8

log = logging.getLogger(__name__)


def require_deltalake() -> Any:
    try:
        import deltalake
    except ImportError:
        raise ConfigError("export delta needs the deltalake package: pip install 'zoom-etl[delta]'") from None
    return deltalake


def export_delta(
    conn: duckdb.DuckDBPyConnection,
    specs: Sequence[TableSpec],
    out: Path,
    accounts: Sequence[str],
    marker: dict[str, Any],
    on_table: OnTable | None,
    vacuum_hours: int = DEFAULT_VACUUM_HOURS,
) -> list[TableResult]:
    deltalake = require_deltalake()
    manifests = {a: read_manifest(out, "delta", a, marker) for a in accounts}
    results = []
    for spec in specs:
        results.append(_delta_table(deltalake, conn, spec, out, manifests))
        crashpoints.reach("export.after_table")
        for account, manifest in manifests.items():
            manifest["duckdb"] = duckdb.__version__
            write_manifest(out, account, manifest)
        if on_table:
            on_table(results[-1])
    for spec in specs:
        _retry(spec, partial(_vacuum, deltalake, out / spec.folder, vacuum_hours))
    return results


def _delta_table(
    deltalake: Any,
    conn: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    out: Path,
    manifests: dict[str, dict[str, Any]],
) -> TableResult:
    uri = out / spec.folder
    hashes = partition_hashes(conn, spec)
    exists = deltalake.DeltaTable.is_deltatable(str(uri))
    changed: list[Key] = []
    removed: list[Key] = []
    whole: list[str] = []  # accounts whose rows the table may hold, unknown to their manifest
    for account, manifest in manifests.items():
        mine = {k: d for k, (d, _) in hashes.items() if k[0] == account}
        if exists and spec.key not in manifest["tables"]:
            whole.append(account)
            changed += mine
            continue
        old = previous_partitions(manifest, spec) if exists else {}
        changed += [k for k, digest in mine.items() if old.get(k, {}).get("hash") != digest]
        removed += [k for k in old if k not in mine]

    def commit() -> None:
        if not deltalake.DeltaTable.is_deltatable(str(uri)):
            # creates the table, even without rows
            with only_partitions(conn, spec, changed, every=len(hashes)) as query:
                reader = conn.sql(query).to_arrow_reader()
                deltalake.write_deltalake(uri, reader, mode="append", partition_by=list(spec.partition_by))
            return
        predicate = _predicate(spec, [k for k in changed + removed if k[0] not in whole], whole)
        if not predicate:
            return
        if changed:
            with only_partitions(conn, spec, changed, every=len(hashes)) as query:
                reader = conn.sql(query).to_arrow_reader()
                deltalake.write_deltalake(
                    uri,
                    reader,
                    mode="overwrite",
                    predicate=predicate,
                    partition_by=list(spec.partition_by),
                    schema_mode="merge",
                )
        else:
            deltalake.DeltaTable(str(uri)).delete(predicate)

    _retry(spec, commit)
    for account, manifest in manifests.items():
        entries = {k: {"hash": d, "rows": r} for k, (d, r) in hashes.items() if k[0] == account}
        manifest["tables"][spec.key] = manifest_entry(spec, entries)
    return TableResult(
        spec.key,
        rows=sum(r for _, r in hashes.values()),
        partitions=len(hashes),
        written=len(changed),
        kept=len(hashes) - len(changed),
        removed=len(removed),
    )


def _retry(spec: TableSpec, attempt: Any) -> None:
    """Run ``attempt`` again when Delta refused its commit because another writer committed first."""
    from deltalake.exceptions import CommitFailedError

    for n in range(1, COMMIT_ATTEMPTS + 1):
        try:
            attempt()
            return
        except CommitFailedError as exc:
            if n == COMMIT_ATTEMPTS:
                raise WarehouseError(
                    f"export of {spec.key}: Delta commit failed {n} times against concurrent writers: {exc}"
                ) from exc
            log.info("export of %s: Delta commit conflict (%s); retrying", spec.key, exc)
            time.sleep(random.uniform(0.05, 0.2) * n)


def _vacuum(deltalake: Any, uri: Path, hours: int) -> None:
    if deltalake.DeltaTable.is_deltatable(str(uri)):
        deltalake.DeltaTable(str(uri)).vacuum(
            retention_hours=hours, dry_run=False, enforce_retention_duration=False
        )


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _predicate(spec: TableSpec, keys: list[Key], accounts: list[str]) -> str:
    """A Delta (DataFusion SQL) predicate matching exactly the partitions in ``keys`` and every row of
    ``accounts``."""
    terms = [f"(account_id IN ({', '.join(map(_literal, accounts))}))"] if accounts else []
    for key in keys:
        term = f"account_id = {_literal(str(key[0]))}"
        if spec.date_column:
            term += ' AND "date" IS NULL' if key[1] is None else f' AND "date" = {_literal(key[1])}'
        terms.append(f"({term})")
    return " OR ".join(terms)
