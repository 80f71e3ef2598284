"""Extraction: plan the work of a sync from the stream registry and run it concurrently, as events.

Public API: ``extract`` (the events of one account's sync); see ``engine`` for the contract. The
dry-run plan that sizes a sync before it runs is ``etl.plan``.
"""

from etl.extract.engine import extract

__all__ = ["extract"]
