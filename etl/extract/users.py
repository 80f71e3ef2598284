"""The users listing's two Zoom-specific repairs: pending users' ids, looked up by email, and the
statuses GraphQL may leave out, listed again on REST. Both work on the records ``jobs.users_task`` lists,
before their per-user work is spawned."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from etl.errors import PaginationError, ResourceError
from etl.extract.fetch import skip
from etl.extract.run import Run
from etl.extract.scheduler import Emit
from etl.records import Page, SourceChoice
from etl.sources import rest
from etl.streams import BY_NAME

log = logging.getLogger(__name__)

USERS = "users"  # the stream these repairs are for: a Zoom exception (see etl.extract.jobs)


def identify_pending(run: Run, emit: Emit, users: Sequence[dict[str, Any]]) -> None:
    """Give each pending user without an id its id, looked up by email (``GET /users/{email}``, Light).

    Zoom's listing "does not return this value for users with the pending status" (OpenAPI), yet the
    user by email does: without it the users table, keyed by id, would reject every pending invitation on
    every run. The id is set on the record itself, before the page is emitted, so ``raw.pages`` holds it
    and ``rebuild`` needs no API call. A lookup Zoom refuses leaves the record as listed: it is recorded
    as a skip, and normalization rejects the row for its missing key (its payload kept)."""
    endpoint = BY_NAME[USERS].details
    assert endpoint is not None
    for user in users:
        email = user.get("email")
        if user.get("id") or user.get("status") != "pending" or not isinstance(email, str) or not email:
            continue
        try:
            _, detail = rest.fetch_detail(run.client, endpoint, {"userId": email})
        except ResourceError as exc:
            emit(skip(run, USERS, "a pending user's id (GET /users/{email})", exc))
            continue
        found = detail.get("id") if detail else None
        if isinstance(found, str) and found:
            user["id"] = found


def reconcile_users(
    run: Run, emit: Emit, listed: Counter[str], on_users: Callable[[list[dict[str, Any]]], None]
) -> None:
    """Make the GraphQL users listing complete whichever way Zoom answers it.

    Zoom does not document whether GraphQL ``users`` without a status lists every status, as the product
    asks it to, or only active users, as REST's ``GET /users`` does. Each status's ``total_records`` on REST
    (one Medium call of one record each) is compared with what GraphQL listed; a status it listed fewer of
    is listed again on REST, whose users then get their per-user work like any other (once per run).
    What was seen is recorded with the run's source of the stream (``_etl.sources.reason``)."""
    endpoint = BY_NAME[USERS].rest[0]
    counting = replace(endpoint, page_size=1)
    emit_pages = USERS in run.requested
    seen: list[str] = []
    missing: list[str] = []
    for ((_, status),) in BY_NAME[USERS].fanout:
        try:
            first = next(iter(rest.fetch_pages(run.client, counting, {}, {"status": status})))
            total = first.body.get("total_records")
            seen.append(f"{listed[status]} {status} of {total}")
            if not isinstance(total, int) or listed[status] >= total:
                continue
            missing.append(status)
            for page in rest.fetch_pages(run.client, endpoint, {}, {"status": status}):
                on_users(page.records)
                if emit_pages:
                    emit(
                        Page(USERS, run.account_id, "rest", page.request, datetime.now(UTC), page.records, {})
                    )
        except (ResourceError, PaginationError) as exc:
            emit(skip(run, USERS, f"{status} users on REST (GET /users?status={status})", exc))
    reason = f"GraphQL users listed {', '.join(seen)} (REST's totals)"
    if missing:
        reason += f"; {' and '.join(missing)} users listed with REST"
        log.info("account %s: %s", run.account_id, reason)
    emit(SourceChoice(USERS, run.account_id, run.sources.source(USERS), reason))
