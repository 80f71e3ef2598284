"""Events against polling: a day of activity synced by Zoom's webhooks, and the same day by polling.

    python -m bench.events [--profile bench] [--seed 42] [--hours 24] [--every 1] [--events-every 0.25]
        [--warmup-days 2]

One simulator, two warehouses that start from a full sync, then two warm-up days (webhooks on) that end
with a full sync on both sides: the measured day starts with both complete. Then the simulated clock advances
for ``--hours``, while:

- the polling warehouse runs the cron sync (incremental, every stream) every ``--every`` hours;
- the simulator POSTs what happened to a real receiver (uvicorn on loopback) that spools it, and the
  events warehouse runs ``sync --events`` every ``--events-every`` hours (reconcile_every set beyond the
  day, so no full poll). At the end both sync once more, at the same instant, and are compared.

Reported: requests (by rate-limit category) and wall time of each side over the day, the freshness of
participants (simulated time from a meeting's end to its participants in the warehouse, for meetings that
ended during the day: median and 90th percentile, both sides), and whether every product table ends
identical (bookkeeping columns left out). Self-contained: needs nothing but the package.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson

from etl.config import load_settings
from etl.config.model import Secret
from etl.contracts import load_contracts
from etl.pipeline import SyncOptions, sync
from etl.simulator.app import SimulatorConfig
from etl.simulator.clock import REFERENCE_EPOCH
from etl.simulator.server import RunningSimulator, start
from etl.webhooks.receiver import Receiver, ReceiverOptions
from etl.webhooks.serve import RunningReceiver
from etl.webhooks.spool import Spool

SECRET = "bench-webhook-secret"
BOOKKEEPING = frozenset({"_run_id", "_synced_at", "valid_from", "valid_to", "is_current", "_row_hash"})


def settings_for(sim: RunningSimulator, warehouse: Path, spool: Path | None) -> Any:
    env = sim.environ(warehouse, ZOOM_ETL_RECONCILE_EVERY="7d", ZOOM_WEBHOOK_SECRET_TOKEN=SECRET)
    if spool is not None:
        env["ZOOM_ETL_WEBHOOK_SPOOL"] = str(spool)
    return load_settings({}, env, None, require_accounts=True)


def product_tables() -> list[tuple[str, list[str]]]:
    contracts = load_contracts()
    return [
        (name, [c.name for c in contract.columns if c.name not in BOOKKEEPING])
        for name, contract in sorted(contracts.items())
        if name != "events"
    ]


def compare(left: Path, right: Path) -> dict[str, dict[str, int]]:
    """Per product table: rows only the left has, rows only the right has (all contract columns)."""
    found: dict[str, dict[str, int]] = {}
    with duckdb.connect(str(left), read_only=True) as conn:
        conn.execute(f"ATTACH '{right}' AS r (READ_ONLY)")
        for table, columns in product_tables():
            cols = ", ".join(f'"{c}"' for c in columns)
            where = " WHERE is_current" if _has(conn, table, "is_current") else ""
            one = f"SELECT {cols} FROM zoom.{table}{where}"
            two = f"SELECT {cols} FROM r.zoom.{table}{where}"
            only_left = conn.execute(f"SELECT count(*) FROM ({one} EXCEPT ALL {two})").fetchone()
            only_right = conn.execute(f"SELECT count(*) FROM ({two} EXCEPT ALL {one})").fetchone()
            total = conn.execute(f"SELECT count(*) FROM ({one})").fetchone()
            found[table] = {
                "rows": int(total[0]) if total else 0,
                "only_polling": int(only_left[0]) if only_left else 0,
                "only_events": int(only_right[0]) if only_right else 0,
            }
    return found


def _has(conn: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'zoom' AND table_name = ?"
        " AND column_name = ?",
        [table, column],
    ).fetchone()
    return bool(row and row[0])


def participants_seen(warehouse: Path) -> set[str]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute("SELECT key FROM _etl.done_keys WHERE stream = 'meeting_participants'").fetchall()
    return {r[0] for r in rows}


def run(
    profile: str, seed: int, hours: float, every: float, events_every: float, warmup_days: float = 2.0
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="zoom-etl-events-"))
    sim = start(SimulatorConfig(profile=profile, seed=seed, epoch=REFERENCE_EPOCH, rate_scale=50.0))
    polling, events = work / "polling.duckdb", work / "events.duckdb"
    spool_dir = work / "spool"
    poll_settings = settings_for(sim, polling, None)
    event_settings = settings_for(sim, events, spool_dir)
    first = sync(poll_settings)
    sync(event_settings, SyncOptions(events="ingest"))  # the same starting point: a full sync
    spool = Spool(spool_dir)
    receiver = RunningReceiver(Receiver(ReceiverOptions(Secret(SECRET)), spool)).start()
    sender = sim.send_webhooks(receiver.url, SECRET)
    # Warm-up days (Zoom's reports come up to 36 h late) end with a full sync on both sides: meetings
    # that ended before the subscription started (their event never sent) are in, and the measured day
    # starts with both sides complete.
    sim.advance(days=warmup_days)
    sender.wait_idle(120)
    sync(poll_settings)
    sync(event_settings, SyncOptions(events="ingest"))
    start_clock = sim.clock.now()
    requests: dict[str, Counter[str]] = {"polling": Counter(), "events": Counter()}
    seconds = {"polling": 0.0, "events": 0.0}
    seen: dict[str, dict[str, datetime]] = {"polling": {}, "events": {}}
    already = {side: participants_seen(path) for side, path in (("polling", polling), ("events", events))}
    statuses: Counter[str] = Counter()
    step = min(every, events_every)
    steps = round(hours / step)
    syncs: Counter[str] = Counter()
    for n in range(1, steps + 1):
        sim.advance(seconds=step * 3600)
        sender.wait_idle(120)
        now = sim.clock.now()
        due = [
            (side, settings, options)
            for side, settings, options, period in (
                ("polling", poll_settings, SyncOptions(), every),
                ("events", event_settings, SyncOptions(events="targeted"), events_every),
            )
            if n == steps or abs((n * step / period) - round(n * step / period)) < 1e-9
        ]
        for side, settings, options in due:
            syncs[side] += 1
            began = time.perf_counter()
            result = sync(settings, options)
            seconds[side] += time.perf_counter() - began
            requests[side].update(result.requests_by_category)
            if side == "events" and result.events:
                assert result.events.get("mode") == "targeted", result.events
                statuses.update({k: v for k, v in result.events.items() if k not in ("mode", "spooled")})
            path = polling if side == "polling" else events
            for key in participants_seen(path) - already[side] - set(seen[side]):
                seen[side][key] = now
    receiver.stop()
    final = sim.clock.now()
    listed = sim.account.instances_in_window(
        start_clock - timedelta(days=1), final, final, reported_only=False
    )
    ended = {i.uuid: i.end_time for i in listed if i.end_time > start_clock}
    freshness = {}
    for side in ("polling", "events"):
        lags = [(seen[side][u] - ended[u]).total_seconds() / 60 for u in ended if u in seen[side]]
        freshness[side] = {
            "meetings": len(lags),
            "median_minutes": round(statistics.median(lags), 1) if lags else None,
            "p90_minutes": round(statistics.quantiles(lags, n=10)[-1], 1) if len(lags) > 1 else None,
        }
    tables = compare(polling, events)
    sim.stop()
    total = {side: sum(requests[side].values()) for side in requests}
    return {
        "profile": profile,
        "hours": hours,
        "every_hours": {"polling": every, "events": events_every},
        "measured_from": start_clock.isoformat(),
        "syncs": dict(syncs),
        "first_full_sync_requests": sum(first.requests_by_category.values()),
        "requests": {side: dict(requests[side]) for side in requests},
        "requests_total": total,
        "ratio": round(total["events"] / total["polling"], 3) if total["polling"] else None,
        "seconds": {k: round(v, 1) for k, v in seconds.items()},
        "webhooks": dict(sender.stats),
        "event_statuses": dict(statuses),
        "freshness": freshness,
        "tables": tables,
        "identical": all(not t["only_polling"] and not t["only_events"] for t in tables.values()),
        "work": str(work),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="bench")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--every", type=float, default=1.0, help="hours between polling syncs")
    parser.add_argument("--events-every", type=float, default=0.25, help="hours between event syncs")
    parser.add_argument("--warmup-days", type=float, default=2.0, help="webhooks on, before measuring")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(args.profile, args.seed, args.hours, args.every, args.events_every, args.warmup_days)
    if args.json:
        print(orjson.dumps(report).decode())
    else:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    return 0 if report["identical"] else 1


if __name__ == "__main__":
    sys.exit(main())
