"""Many accounts in one sync: wall time of N accounts synced at once against the slowest and the sum of
the same accounts synced alone.

Realistic per-account rate limits: one simulator process per account (``zoom-etl simulator serve``, each
with its own seed, so its own account id, its own client id and secret, and its own rate limiter, as
Zoom's limits are per account). Every sync is its own ``python -m etl sync --config FILE`` process, as
cron runs it, into fresh warehouses:

    shared      all N accounts in one config, one warehouse (loads take turns on it)
    own         all N accounts in one config, each with its own ``warehouse`` (loads in parallel)
    alone       each account by itself, one after another

Self-contained on purpose (one file, no other bench module). Run from the repository root:

    python -m bench.accounts --accounts 10 --profile tiny --rate-scale 1 --out bench-accounts.json

``uptime`` is read before and after: the machine's load decides how far from the slowest account the
concurrent run can get (normalizing N accounts' pages is CPU work, the rest is waiting on rate limits).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from etl.simulator.clock import REFERENCE_EPOCH


@dataclass(frozen=True, slots=True)
class Sim:
    process: subprocess.Popen[str]
    account_id: str
    client_id: str
    client_secret: str
    api_url: str
    oauth_url: str


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def start_simulator(i: int, profile: str, rate_scale: float, latency_ms: float) -> Sim:
    """``zoom-etl simulator serve --port 0``; its ``export ZOOM_...`` lines give the URL and the id."""
    secret = f"bench-secret-{i}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "etl",
            "simulator",
            "serve",
            "--port",
            "0",
            "--profile",
            profile,
            "--seed",
            str(1000 + i),
            "--clock-start",
            REFERENCE_EPOCH.strftime("%Y-%m-%dT%H:%M:%S"),
            "--rate-scale",
            str(rate_scale),
            "--latency-ms",
            str(latency_ms),
            "--client-id",
            f"bench-client-{i}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "ZOOM_SIM_CLIENT_SECRET": secret},
    )
    assert process.stdout is not None
    exported: dict[str, str] = {}
    while "ZOOM_PLAN" not in exported:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"simulator {i} exited before it was ready")
        if line.startswith("export "):
            key, _, value = line[len("export ") :].strip().partition("=")
            exported[key] = value
    return Sim(
        process,
        exported["ZOOM_ACCOUNT_ID"],
        exported["ZOOM_CLIENT_ID"],
        secret,
        exported["ZOOM_API_URL"],
        exported["ZOOM_OAUTH_URL"],
    )


def write_config(path: Path, sims: list[Sim], rate_scale: float, warehouse: Path, own: Path | None) -> Path:
    lines = [
        f'warehouse = "{warehouse}"',
        f"rate_scale = {rate_scale}",
        f"max_concurrent_accounts = {len(sims)}",
    ]
    for sim in sims:
        lines += [
            "[[accounts]]",
            f'account_id = "{sim.account_id}"',
            f'client_id = "{sim.client_id}"',
            f'client_secret = "{sim.client_secret}"',
            f'api_url = "{sim.api_url}"',
            f'oauth_url = "{sim.oauth_url}"',
        ]
        if own is not None:
            lines.append(f'warehouse = "{own / sim.account_id}.duckdb"')
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def run_sync(config: Path) -> dict[str, Any]:
    """One ``python -m etl sync`` process: its wall time and its JSON summary line."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM_")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "etl", "sync", "--config", str(config), "--progress-every", "0"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    seconds = time.monotonic() - started
    summary = orjson.loads(done.stdout.strip().splitlines()[-1])
    return {
        "wall_seconds": round(seconds, 2),
        "exit_code": done.returncode,
        "status": summary.get("status"),
        "requests": sum((summary.get("requests_by_category") or {}).values()),
        "rows": sum((summary.get("rows") or {}).values()),
        "accounts": [
            {k: a[k] for k in ("account_id", "status", "seconds", "requests")}
            for a in summary.get("accounts", [])
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--profile", default="tiny", choices=["tiny", "demo", "bench"])
    parser.add_argument("--rate-scale", type=float, default=1.0)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--modes", default="shared,own,alone", help="Which of shared, own, alone to run.")
    args = parser.parse_args(argv)
    report: dict[str, Any] = {
        "accounts": args.accounts,
        "profile": args.profile,
        "rate_scale": args.rate_scale,
        "latency_ms": args.latency_ms,
        "uptime_before": _uptime(),
    }
    sims = [start_simulator(i, args.profile, args.rate_scale, args.latency_ms) for i in range(args.accounts)]
    try:
        with tempfile.TemporaryDirectory(prefix="bench-accounts-") as tmp:
            root = Path(tmp)
            (root / "own").mkdir()
            modes = args.modes.split(",")
            if "shared" in modes:
                shared = write_config(
                    root / "shared.toml", sims, args.rate_scale, root / "shared.duckdb", None
                )
                report["shared"] = run_sync(shared)
                print(f"shared: {report['shared']['wall_seconds']} s", file=sys.stderr)
            if "own" in modes:
                own = write_config(
                    root / "own.toml", sims, args.rate_scale, root / "unused.duckdb", root / "own"
                )
                report["own"] = run_sync(own)
                print(f"own: {report['own']['wall_seconds']} s", file=sys.stderr)
            alone = []
            for sim in sims if "alone" in modes else []:
                config = write_config(
                    root / f"{sim.account_id}.toml",
                    [sim],
                    args.rate_scale,
                    root / f"{sim.account_id}.duckdb",
                    None,
                )
                alone.append({"account_id": sim.account_id, **run_sync(config)})
                print(f"alone {sim.account_id}: {alone[-1]['wall_seconds']} s", file=sys.stderr)
            report["alone"] = alone
    finally:
        for sim in sims:
            sim.process.terminate()
        for sim in sims:
            sim.process.wait(timeout=30)
    walls = [a["wall_seconds"] for a in report["alone"]]
    if walls:
        report["alone_slowest_seconds"] = max(walls)
        report["alone_sum_seconds"] = round(sum(walls), 2)
        for mode in ("shared", "own"):
            if mode in report:
                wall = report[mode]["wall_seconds"]
                report[f"{mode}_over_slowest"] = round(wall / max(walls), 2)
                report[f"{mode}_over_sum"] = round(wall / sum(walls), 3)
    report["uptime_after"] = _uptime()
    text = orjson.dumps(report, option=orjson.OPT_INDENT_2).decode()
    if args.out is not None:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
