"""Where the files that the package reads at run time live: contracts, GraphQL documents and views.

The repository keeps them in its top-level folders (``schemas/``, ``queries/``, ``warehouse/``), next to the
package, so that they are read and reviewed as files of their own. A built wheel carries the same files
inside the package, under ``etl/_data/`` (``pyproject.toml``: ``force-include``), so an installed
``zoom-etl`` runs from any folder. ``importlib.resources`` finds the packaged copy; a checkout or an
editable install has none and reads the repository's folders. Nothing else in the package knows which of
the two it is reading.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _root() -> Path:
    packaged = files("etl") / "_data"
    if packaged.is_dir():
        return Path(str(packaged))  # an installed wheel: a real folder in site-packages
    return Path(__file__).resolve().parents[1]  # a checkout (or an editable install of one)


ROOT = _root()
SCHEMAS = ROOT / "schemas"
CONTRACTS = SCHEMAS / "tables"
FILE_CONTRACTS = SCHEMAS / "files"  # tables filled from downloaded recording files, not from a stream
GRAPHQL_SCHEMA = SCHEMAS / "zoom.graphql"
QUERIES = ROOT / "queries"
VIEWS = ROOT / "warehouse"
