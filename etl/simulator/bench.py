"""Simulator throughput: ``python -m etl.simulator.bench [--duration 5] [--json PATH]``.

The server runs in its own process (latency 0, limits off) so the load generator does not share its GIL;
clients are processes with a few keep-alive ``http.client`` connections each. Measured:

- REST requests/s for 30-item pages (``GET /v2/users?page_size=30``);
- GraphQL requests/s for 30-item pages (a ``users(first: 30)`` query);
- milliseconds per page for the largest participants page the account has (page_size=300), and for a
  full 300-item page (``/v2/metrics/meetings``, 300 dashboard rows), one request at a time.

Targets on a 2-core box: 1,500+ REST req/s, 300+ GraphQL req/s, < 10 ms per 300-row page.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import multiprocessing as mp
import statistics
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

GRAPHQL_USERS = "{ users(first: 30) { edges { id email firstName lastName status } pageInfo { cursor } } }"


def _server_main(profile: str, seed: int, conn: Any) -> None:
    from etl.simulator.app import SimulatorConfig
    from etl.simulator.clock import REFERENCE_EPOCH
    from etl.simulator.server import start

    sim = start(
        SimulatorConfig(profile=profile, seed=seed, epoch=REFERENCE_EPOCH, plan="business", rate_limits=False)
    )
    now = sim.clock.now()
    account = sim.account
    instances = account.instances_in_window(now - timedelta(days=28), now, now, reported_only=True)
    widest = max(instances, key=lambda i: len(account.participants(i, now)))
    conn.send(
        {
            "port": sim.port,
            "credentials": sim.credentials,
            "widest_uuid": widest.uuid,
            "widest_rows": len(account.participants(widest, now)),
            "today": now.date().isoformat(),
        }
    )
    conn.recv()  # wait for "stop"
    sim.stop()


def _token(port: int, creds: dict[str, str]) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    basic = base64.b64encode(f"{creds['client_id']}:{creds['client_secret']}".encode()).decode()
    conn.request(
        "POST",
        f"/oauth/token?grant_type=account_credentials&account_id={creds['account_id']}",
        headers={"Authorization": f"Basic {basic}"},
    )
    body = orjson.loads(conn.getresponse().read())
    conn.close()
    return str(body["access_token"])


def _hammer(
    port: int, token: str, method: str, path: str, body: bytes, stop_at: float, counts: list[int]
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    done = 0
    while time.perf_counter() < stop_at:
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path} answered {response.status}")
        done += 1
    conn.close()
    counts.append(done)


def _client_process(
    port: int,
    token: str,
    method: str,
    path: str,
    body: bytes,
    threads: int,
    start_at: float,
    duration: float,
    out: Any,
) -> None:
    while time.perf_counter() < start_at:
        time.sleep(0.001)
    counts: list[int] = []
    workers = [
        threading.Thread(target=_hammer, args=(port, token, method, path, body, start_at + duration, counts))
        for _ in range(threads)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put(sum(counts))


def throughput(
    port: int,
    token: str,
    method: str,
    path: str,
    body: bytes,
    *,
    processes: int,
    threads: int,
    duration: float,
) -> float:
    """Requests per second with ``processes`` x ``threads`` keep-alive connections for ``duration`` s."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    start_at = time.perf_counter() + 1.5  # let spawned processes import before the clock starts
    procs = [
        ctx.Process(
            target=_client_process, args=(port, token, method, path, body, threads, start_at, duration, out)
        )
        for _ in range(processes)
    ]
    for p in procs:
        p.start()
    total = sum(out.get() for _ in procs)
    for p in procs:
        p.join()
    return total / duration


def page_ms(port: int, token: str, path: str, *, repeat: int = 100) -> tuple[float, int]:
    """Median milliseconds per request for one page, one request at a time, and the rows it holds."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}"}
    times, rows = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        data = response.read()
        times.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}")
        rows = max((len(v) for v in orjson.loads(data).values() if isinstance(v, list)), default=0)
    conn.close()
    return statistics.median(times), rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="bench")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--json", type=Path, default=Path("bench-results/simulator.json"))
    args = parser.parse_args(argv)

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_server_main, args=(args.profile, args.seed, child), daemon=True)
    server.start()
    info = parent.recv()
    port = info["port"]
    token = _token(port, info["credentials"])
    load = {"processes": args.processes, "threads": args.threads, "duration": args.duration}
    from urllib.parse import quote

    widest = quote(quote(info["widest_uuid"], safe=""), safe="")
    today = info["today"]
    month_ago = (__import__("datetime").date.fromisoformat(today) - timedelta(days=28)).isoformat()
    results: dict[str, Any] = {"profile": args.profile, "load": load}
    try:
        results["rest_users_30_rps"] = throughput(port, token, "GET", "/v2/users?page_size=30", b"", **load)
        gql = orjson.dumps({"query": GRAPHQL_USERS})
        results["graphql_users_30_rps"] = throughput(port, token, "POST", "/v3/graphql", gql, **load)
        ms, rows = page_ms(port, token, f"/v2/report/meetings/{widest}/participants?page_size=300")
        results["participants_page_ms"], results["participants_page_rows"] = ms, rows
        path = f"/v2/metrics/meetings?type=past&from={month_ago}&to={today}&page_size=300"
        ms, rows = page_ms(port, token, path, repeat=30)
        results["dashboard_300_page_ms"], results["dashboard_300_page_rows"] = ms, rows
    finally:
        parent.send("stop")
        server.join(timeout=10)

    targets = {"rest_users_30_rps": 1500, "graphql_users_30_rps": 300}
    print(f"{'measure':<28}{'value':>12}  target")
    print(
        f"{'REST /v2/users (30) req/s':<28}{results['rest_users_30_rps']:>12.0f}"
        f"  >= {targets['rest_users_30_rps']}"
    )
    print(
        f"{'GraphQL users(30) req/s':<28}{results['graphql_users_30_rps']:>12.0f}"
        f"  >= {targets['graphql_users_30_rps']}"
    )
    label = f"participants page ({results['participants_page_rows']} rows) ms"
    print(f"{label:<28}{results['participants_page_ms']:>12.2f}  < 10 per 300 rows")
    label = f"dashboard page ({results['dashboard_300_page_rows']} rows) ms"
    print(f"{label:<28}{results['dashboard_300_page_ms']:>12.2f}  < 10")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(f"wrote {args.json}")
    return results


if __name__ == "__main__":
    main()
