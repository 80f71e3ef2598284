"""zoom-etl: a GraphQL-first data sync and analytics ETL for Zoom.

Stages (see README "Architecture"): extract (GraphQL first, REST fallback) yields pages of records,
normalize turns them into Polars frames by the table contracts in ``schemas/``, load upserts the frames
into DuckDB together with the stream state. The pipeline calls them in order.
"""

__version__ = "0.1.0"
