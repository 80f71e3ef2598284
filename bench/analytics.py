"""Analytics (part 5): each warehouse view, read in full, on the large profile's warehouse, in milliseconds.

Each view is run ``repeat`` times on one read-only connection (the first run pays for reading the file
into DuckDB's buffer pool; the median is what an analyst sees on a warm warehouse, and both are kept).
A run fetches every row into Arrow, as ``zoom-etl report`` does.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from etl.analytics import load_reports
from etl.warehouse.reader import open_read_only

TARGET_MS = 1000.0  # not a product bar: a view an analyst waits more than a second for is worth a look


def bench_analytics(warehouse: Path, *, repeat: int = 3) -> dict[str, Any]:
    """Milliseconds per view (first run and median), and the rows each returns."""
    views: dict[str, dict[str, Any]] = {}
    with open_read_only(warehouse) as conn:
        facts = {
            table: int(conn.execute(f"SELECT count(*) FROM zoom.{table}").fetchall()[0][0])
            for table in ("users", "meeting_instances", "meeting_participants")
        }
        for report in load_reports():
            times = []
            rows = 0
            for _ in range(repeat):
                started = time.perf_counter()
                rows = conn.sql(f"SELECT * FROM {report.view}").to_arrow_table().num_rows
                times.append((time.perf_counter() - started) * 1000)
            views[report.name] = {
                "first_ms": round(times[0], 1),
                "median_ms": round(statistics.median(times), 1),
                "rows": rows,
            }
    return {"warehouse_rows": facts, "repeat": repeat, "views": views}
