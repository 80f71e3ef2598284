"""The DuckDB warehouse: schemas ``zoom`` (core tables from the contracts), ``_etl`` (runs, state,
done keys, schema changes, rejects, skips, sources) and ``raw`` (landed pages); the writer lock.

    Warehouse.open(path, raw=True) -> Warehouse     (context manager; LockedError if another writer)
    etl.rebuild.rebuild(wh, tables=None)            rebuild core tables from raw, no API call
"""

from etl.warehouse.connection import RunCounters, Warehouse
from etl.warehouse.lock import WarehouseLock

__all__ = ["RunCounters", "Warehouse", "WarehouseLock"]
