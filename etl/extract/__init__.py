"""Extraction: plan the work of a sync from the stream registry and run it concurrently, as events.

Public API: ``extract`` (the events of one account's sync) and ``plan`` (the dry-run plan, no HTTP
beyond listing users). See ``engine`` and ``plan`` for the contracts.
"""

from etl.extract.engine import extract
from etl.extract.plan import Plan, StreamPlan, plan

__all__ = ["Plan", "StreamPlan", "extract", "plan"]
