"""What one simulated GraphQL request sees (``GraphQLContext``), apart from the endpoint that executes it.

Its own module so the resolvers and item builders can name it without importing ``etl.simulator.graphql``,
which imports them (no import circle, not even a type-only one).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class GraphQLContext:
    """What one GraphQL request sees: the simulated time, the account's rate limiter and the fault knobs.

    ``charge(category, units)`` takes ``units`` calls of "light" | "medium" | "heavy" | "resource_intensive"
    from the account's budget and says whether they were allowed. ``partial_error_rate`` is the probability
    that a list item answers one selected nullable field with an ``INTERNAL_ERROR``; ``drift`` makes
    nullable item fields come back null now and then (in GraphQL a client only gets the fields it asks for,
    so an unknown extra key cannot appear: missing values are how drift shows).
    """

    now: datetime
    charge: Callable[[str, int], bool]
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    partial_error_rate: float = 0.0
    drift: bool = False
    users_status: str | None = None  # what ``users`` without ``status`` lists (None: every status)
