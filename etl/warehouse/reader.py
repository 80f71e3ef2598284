"""Read-only access to a warehouse file, for the commands that only read (status, sql, report, export).

The file is attached under the fixed catalog name the writer uses (``warehouse``): connecting to
``zoom.duckdb`` directly would name the catalog ``zoom`` and make every ``zoom.<table>`` ambiguous.

``open_published`` is what the read commands use: the warehouse's read copy (``etl.warehouse.publish``),
which no sync ever holds, so they answer from the last finished sync while another one runs.
``open_read_only`` opens exactly the file it is given; DuckDB lets no other process open a file that a
writer holds, so on the warehouse itself it raises ``LockedError`` naming the writer's pid while a sync
runs.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from etl.errors import ConfigError, LockedError, WarehouseError
from etl.warehouse.connection import CATALOG
from etl.warehouse.publish import reading_path

_LOCK_PID = re.compile(r"PID (\d+)")


def _sql_text(value: str) -> str:
    return value.replace("'", "''")


def open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse at ``path``, in UTC, with ``zoom.<table>`` resolvable."""
    if not path.exists():
        raise ConfigError(
            f"warehouse {path} not found: run `zoom-etl sync` first, or point --warehouse / "
            "ZOOM_ETL_WAREHOUSE at an existing warehouse"
        )
    conn = duckdb.connect(":memory:")
    try:
        conn.execute(f"ATTACH '{_sql_text(str(path))}' AS {CATALOG} (READ_ONLY)")
    except duckdb.IOException as exc:
        conn.close()
        message = str(exc)
        if "lock" not in message.lower():
            raise WarehouseError(f"cannot open warehouse {path}: {message.splitlines()[0]}") from exc
        pid = _LOCK_PID.search(message)
        holder = f" (pid {pid.group(1)})" if pid else ""
        raise LockedError(
            f"warehouse {path} is open for writing by another process{holder}, probably a sync; DuckDB "
            "lets no other process read the file meanwhile: retry when it finishes"
        ) from None
    except duckdb.Error as exc:
        conn.close()
        raise WarehouseError(f"cannot open warehouse {path}: {str(exc).splitlines()[0]}") from exc
    conn.execute(f"USE {CATALOG}")
    conn.execute("SET TimeZone = 'UTC'")
    return conn


def open_published(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the last published state of ``warehouse`` (its read copy; the file
    itself for a warehouse that has none yet)."""
    if not warehouse.exists() and not reading_path(warehouse).exists():
        return open_read_only(warehouse)  # the "run zoom-etl sync first" error
    return open_read_only(reading_path(warehouse))
