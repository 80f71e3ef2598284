"""The one seam to the network: ``ZoomClient`` with auth, per-category rate limits and retries.

    client.py     ZoomClient, Response, RequestStats: one client per account, thread-safe
    auth.py       TokenProvider: Server-to-Server OAuth, one token per account, single-flight refresh
    ratelimit.py  RateLimiter, PLAN_LIMITS: paced per category, daily budgets, 429 pauses
    retry.py      RetryPolicy and the one retry loop (backoff with full jitter)
    body.py       reading a body within its size limit and deadline; lenient decoding, records screened

Nothing else in zoom-etl opens an HTTP connection to Zoom; sources and streams receive a client.
"""

from etl.http.auth import TokenProvider
from etl.http.client import RequestStats, Response, ZoomClient, endpoint_template
from etl.http.ratelimit import CATEGORIES, PLAN_LIMITS, PlanLimits, RateLimiter, normalize_category
from etl.http.retry import RetryPolicy

__all__ = [
    "CATEGORIES",
    "PLAN_LIMITS",
    "PlanLimits",
    "RateLimiter",
    "RequestStats",
    "Response",
    "RetryPolicy",
    "TokenProvider",
    "ZoomClient",
    "endpoint_template",
    "normalize_category",
]
