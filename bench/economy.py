"""Request economy (part 6): per stream, the requests a full sync made against the fewest the API allows
for the same data, and GraphQL against REST for the same account.

The minimum of a stream is the sum, over the listings the API forces, of ceil(records / max page size),
counting only listings that hold data (a floor no client beats, since it would need to know in advance
which listings are empty). Listings as Zoom draws them:

    users                 one account-wide listing (GraphQL ``users``; REST needs one per status)
    meetings, webinars    one per host
    meeting_instances,    one per host and calendar month (report and recording ranges are capped at a
    recordings            month)
    meeting_participants, one per instance
    webinar_participants,
    webinar_absentees
    webinar_registrants   one per webinar and registration status
    webinar_instances     one per webinar, plus one report-details call per instance
    daily_usage           one per month (``year``/``month``)
    sign_in_activity,     one per calendar month (account-wide report, month windows)
    operation_logs

Max page size is 300 for every listing (Zoom's OpenAPI maximum). GraphQL nesting (the meetings of a page
of users in the users request) can take a stream *below* this per-listing minimum: nesting saves round
trips, not rate-limit units.

Requests per stream: REST requests come from the simulator's per-endpoint counts (each endpoint belongs
to one stream); GraphQL requests all hit ``/v3/graphql``, so they are counted from the run's raw pages,
whose ``request`` names the query (synthesized pages of nested connections excluded). What the two do not
explain is shown as ``(unattributed)``.

The REST side is a second full sync with ``source = "rest"`` on a simulator without latency or limits
(request counts do not depend on either; the client keeps its own pacing out of the way with a high
``rate_scale``). The GraphQL side is the part-1 sync when it ran, else the same kind of fast sync.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from bench.sync import LARGE_CLIENT_SCALE, Simulator, SyncRun, run_sync
from etl.streams import STREAMS, USERS_WITH_MEETINGS
from etl.warehouse.reader import open_read_only

MAX_PAGE = 300
UNATTRIBUTED = "(unattributed)"


def _per(table: str, *keys: str) -> str:
    group = ", ".join(keys)
    return (
        f"SELECT coalesce(sum(ceil(n / {MAX_PAGE})), 0) FROM "
        f"(SELECT {group}, count(*) AS n FROM zoom.{table} GROUP BY {group})"
    )


def _month(column: str) -> str:
    return f"date_trunc('month', {column})"


MINIMUM_SQL: dict[str, str] = {
    "users": f"SELECT ceil(count(*) / {MAX_PAGE}) FROM zoom.users",
    "meetings": _per("meetings", "host_id"),
    "meeting_instances": _per("meeting_instances", "host_id", _month("start_time")),
    "meeting_participants": _per("meeting_participants", "meeting_uuid"),
    "webinars": _per("webinars", "host_id"),
    "webinar_instances": f"SELECT ({_per('webinar_instances', 'id')}) + (SELECT count(*) "
    "FROM zoom.webinar_instances)",
    "webinar_participants": _per("webinar_participants", "webinar_uuid"),
    "webinar_absentees": _per("webinar_absentees", "webinar_uuid"),
    "webinar_registrants": _per("webinar_registrants", "webinar_id", "status"),
    "recordings": _per("recordings", "host_id", _month("start_time")),
    "daily_usage": f"SELECT count(DISTINCT {_month('date')}) FROM zoom.daily_usage",
    "sign_in_activity": _per("sign_in_activity", _month("time")),
    "operation_logs": _per("operation_logs", _month("time")),
}
assert set(MINIMUM_SQL) == {s.name for s in STREAMS}, "every stream needs its minimum"

# Which stream a GraphQL query's requests belong to (the nested users+meetings query lists the users).
GRAPHQL_STREAM = {s.graphql.name: s.name for s in STREAMS if s.graphql is not None}
GRAPHQL_STREAM[USERS_WITH_MEETINGS.name] = "users"
REST_STREAM = {f"/v2{e.path}": s.name for s in STREAMS for e in s.endpoints}


def minimum_requests(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Per stream, the fewest requests the API allows for the rows in the warehouse."""
    return {name: int(conn.execute(sql).fetchall()[0][0] or 0) for name, sql in MINIMUM_SQL.items()}


def table_rows(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of each stream's first table."""
    return {
        s.name: int(conn.execute(f"SELECT count(*) FROM zoom.{s.tables[0]}").fetchall()[0][0])
        for s in STREAMS
    }


def requests_by_stream(conn: duckdb.DuckDBPyConnection, run: SyncRun) -> dict[str, int]:
    """Requests the run made per stream (see the module docstring for how they are attributed)."""
    counts: dict[str, int] = dict.fromkeys(MINIMUM_SQL, 0)
    unattributed = 0
    for endpoint, n in run.server["by_endpoint"].items():
        if endpoint in REST_STREAM:
            counts[REST_STREAM[endpoint]] += int(n)
        elif endpoint.startswith("/v2"):
            unattributed += int(n)
    graphql_total = int(run.server["by_endpoint"].get("/v3/graphql", 0))
    rows = conn.execute(
        "SELECT split_part(request, ' ', 3) AS query, count(*) FROM raw.pages WHERE run_id = ? AND "
        "source = 'graphql' AND request NOT LIKE '%(nested %' GROUP BY query",
        [run.summary["run_id"]],
    ).fetchall()
    attributed = 0
    for query, n in rows:
        if query in GRAPHQL_STREAM:
            counts[GRAPHQL_STREAM[query]] += int(n)
            attributed += int(n)
    unattributed += graphql_total - attributed
    if unattributed:
        counts[UNATTRIBUTED] = unattributed
    return counts


def _fast_sync(workdir: Path, profile: str, seed: int, source: str) -> SyncRun:
    warehouse = workdir / f"economy-{source}" / "zoom.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with Simulator.start(
        warehouse.parent, profile=profile, seed=seed, rate_limits=False, name=f"simulator-{source}"
    ) as sim:
        return run_sync(sim, warehouse, rate_scale=LARGE_CLIENT_SCALE, source=source, name=source)


def bench_economy(
    workdir: Path, *, profile: str, seed: int, graphql_run: SyncRun | None = None
) -> dict[str, Any]:
    """Part 6. ``graphql_run``: the part-1 full sync (same profile and seed), reused if given."""
    graphql = graphql_run or _fast_sync(workdir, profile, seed, "auto")
    rest = _fast_sync(workdir, profile, seed, "rest")
    with open_read_only(graphql.warehouse) as conn:
        minimum = minimum_requests(conn)
        records = table_rows(conn)
        made = requests_by_stream(conn, graphql)
    with open_read_only(rest.warehouse) as conn:
        rest_records = table_rows(conn)
        rest_made = requests_by_stream(conn, rest)
    streams: dict[str, dict[str, Any]] = {}
    for name in [*MINIMUM_SQL, UNATTRIBUTED]:
        if name == UNATTRIBUTED and name not in made and name not in rest_made:
            continue
        low = minimum.get(name, 0)
        streams[name] = {
            "source": graphql.summary["sources"].get(name, ""),
            "records": records.get(name, 0),
            "records_rest_run": rest_records.get(name, 0),
            "minimum": low,
            "requests": made.get(name, 0),
            "requests_rest": rest_made.get(name, 0),
            "ratio": round(made.get(name, 0) / low, 3) if low else None,
            "ratio_rest": round(rest_made.get(name, 0) / low, 3) if low else None,
        }
    total_min = sum(minimum.values())
    return {
        "profile": profile,
        "seed": seed,
        "graphql_run": "part-1 sync" if graphql_run is not None else "fast sync (no latency, no limits)",
        "streams": streams,
        "minimum_total": total_min,
        "requests_graphql_run": graphql.api_requests,
        "requests_rest_run": rest.api_requests,
        "units_graphql_run": graphql.server["units_charged"],
        "units_rest_run": rest.server["units_charged"],
        "ratio_total": round(graphql.api_requests / total_min, 3) if total_min else None,
        "ratio_total_rest": round(rest.api_requests / total_min, 3) if total_min else None,
        "graphql_vs_rest": round(graphql.api_requests / max(1, rest.api_requests), 3),
        "same_data": records == rest_records,
    }
