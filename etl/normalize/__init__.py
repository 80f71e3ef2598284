"""Normalize: pages of REST-named records → typed Polars frames per table, from the table contracts.

    normalize(pages, contracts, run_id) -> Normalized(frames, rejects, schema_changes, contracts, ...)
    merge([normalized, ...]) -> Normalized   (a batch normalized in parts, as if at once)

No HTTP, no DuckDB: plain data in, plain frames out (the loader takes it from there).
"""

from etl.normalize.batch import Normalized, merge, normalize
from etl.normalize.table import REJECT_SCHEMA, SchemaChange

__all__ = ["REJECT_SCHEMA", "Normalized", "SchemaChange", "merge", "normalize"]
