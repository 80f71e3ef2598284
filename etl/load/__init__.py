"""Load: normalized frames → DuckDB, one transaction per batch with its checkpoints.

    commit(wh, run_id, normalized, pages=..., checkpoints=..., skips=..., sources=...) -> LoadResult

``load`` never knows where records came from: it takes frames (``etl.normalize.Normalized``) and the
plain events of ``etl.records`` and writes them.
"""

from etl.load.background import BackgroundLoader
from etl.load.batch import LoadResult, commit, load_tables
from etl.load.upsert import upsert, version

__all__ = ["BackgroundLoader", "LoadResult", "commit", "load_tables", "upsert", "version"]
