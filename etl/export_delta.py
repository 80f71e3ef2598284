"""Delta Lake export: one Delta table per core table, partitioned like the Parquet export.

Each table changes in ONE Delta commit: a predicate overwrite of the partitions whose content hash
changed (or that lost all their rows), so readers never see a half-written table and a failure leaves
the table at its previous version, with its history. The manifest (``etl.export``) is updated after each
commit; a crash in between only makes the next export rewrite those partitions again. The ``deltalake``
package is the optional extra ``delta``; without it the export is a ``ConfigError``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from etl.errors import ConfigError
from etl.export import (
    Key,
    OnTable,
    TableResult,
    TableSpec,
    manifest_entry,
    only_partitions,
    partition_hashes,
    previous_partitions,
    write_manifest,
)


def export_delta(
    conn: duckdb.DuckDBPyConnection,
    specs: list[TableSpec],
    out: Path,
    manifest: dict[str, Any],
    on_table: OnTable | None,
) -> list[TableResult]:
    try:
        import deltalake
    except ImportError:
        raise ConfigError("export delta needs the deltalake package: pip install 'zoom-etl[delta]'") from None
    out.mkdir(exist_ok=True)
    results = []
    for spec in specs:
        uri = out / spec.name
        hashes = partition_hashes(conn, spec)
        old = previous_partitions(manifest, spec) if deltalake.DeltaTable.is_deltatable(str(uri)) else {}
        changed = [k for k, (digest, _) in hashes.items() if old.get(k, {}).get("hash") != digest]
        removed = [k for k in old if k not in hashes]
        partition_by = list(spec.partition_by)
        if not old:
            with only_partitions(conn, spec, None) as query:
                reader = conn.sql(query).to_arrow_reader()
                deltalake.write_deltalake(
                    uri, reader, mode="overwrite", partition_by=partition_by, schema_mode="overwrite"
                )
        elif changed:
            with only_partitions(conn, spec, changed) as query:
                reader = conn.sql(query).to_arrow_reader()
                deltalake.write_deltalake(
                    uri,
                    reader,
                    mode="overwrite",
                    partition_by=partition_by,
                    predicate=_predicate(spec, changed + removed),
                )
        elif removed:
            deltalake.DeltaTable(str(uri)).delete(_predicate(spec, removed))
        partitions = {k: {"hash": digest, "rows": rows} for k, (digest, rows) in hashes.items()}
        manifest["tables"][spec.name] = manifest_entry(spec, partitions)
        manifest["duckdb"] = duckdb.__version__
        write_manifest(out, manifest)
        result = TableResult(
            spec.name,
            rows=sum(r for _, r in hashes.values()),
            partitions=len(hashes),
            written=len(changed),
            kept=len(hashes) - len(changed),
            removed=len(removed),
        )
        results.append(result)
        if on_table:
            on_table(result)
    return results


def _predicate(spec: TableSpec, keys: list[Key]) -> str:
    """A Delta (DataFusion SQL) predicate matching exactly the partitions in ``keys``."""

    def literal(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    terms = []
    for key in keys:
        term = f"account_id = {literal(str(key[0]))}"
        if spec.date_column:
            term += ' AND "date" IS NULL' if key[1] is None else f' AND "date" = {literal(key[1])}'
        terms.append(f"({term})")
    return " OR ".join(terms)
