"""Sync benchmarks: a full and an incremental sync against the simulator, under the plan's rate limits.

Each side runs in its own process, so neither steals the other's GIL and the sync's peak RSS is its own:

- the simulator is ``zoom-etl simulator serve --port 0`` (its ``export ZOOM_...`` lines give the port and
  the credentials; ``/_sim/stats``, ``/_sim/stats/reset`` and ``/_sim/clock`` are used between syncs);
- each sync is ``python -m etl sync`` with its settings in the environment (the client secret only in
  ``ZOOM_CLIENT_SECRET``, as the product wants); its JSON summary comes on stdout and its peak RSS from
  ``os.wait4`` (the kernel's ``ru_maxrss`` of that one child).

The lower bound of a sync is what the plan's limits allow for the rate-limit units the simulator charged:
per category, units / (limit per second x rate_scale x rate_share), categories in parallel, so the max over
categories. Units, not requests: GraphQL charges per field (each nested connection costs one more call of
its REST equivalent), REST one unit per request. The benchmark sync uses ``rate_share = 1.0``, so the bound
is the plan's own limit and the 1.15 target is meaningful; client and simulator get the same
``rate_scale``. The simulator's buckets allow a burst of one second's worth, which the bound ignores (the
true floor is lower by at most one second).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench import checkout_environ
from etl.simulator.clock import REFERENCE_EPOCH

PLAN = "pro"
BENCH_SHARE = 1.0
LARGE_CLIENT_SCALE = 1000.0  # "limits off" on the client side: pacing never waits
SIM_START_TIMEOUT_S = 600.0
SYNC_TIMEOUT_S = 3600.0


class BenchError(RuntimeError):
    """A benchmark step could not run (a process failed or answered something unexpected)."""


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _clean_environ() -> dict[str, str]:
    """This process's environment without any Zoom or zoom-etl setting, so none leaks into a child."""
    return {k: v for k, v in checkout_environ().items() if not k.startswith("ZOOM_")}


class Simulator:
    """A ``zoom-etl simulator serve`` child process on a free loopback port."""

    def __init__(self, proc: subprocess.Popen[bytes], exports: dict[str, str], log: Path) -> None:
        self.proc = proc
        self.env = exports  # ZOOM_API_URL, ZOOM_OAUTH_URL, ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ...
        self.base_url = exports["ZOOM_API_URL"]
        self.log = log
        self._http = httpx.Client(base_url=self.base_url, trust_env=False, timeout=60.0)

    @classmethod
    def start(
        cls,
        workdir: Path,
        *,
        profile: str,
        seed: int,
        rate_scale: float = 1.0,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        rate_limits: bool = True,
        name: str = "simulator",
    ) -> Simulator:
        cmd = [sys.executable, "-m", "etl", "simulator", "serve", "--port", "0", "--profile", profile]
        cmd += ["--seed", str(seed), "--plan", PLAN, "--rate-scale", str(rate_scale)]
        cmd += ["--clock-start", f"{REFERENCE_EPOCH:%Y-%m-%dT%H:%M:%S%z}"]  # figures comparable across days
        cmd += ["--latency-ms", str(latency_ms), "--jitter-ms", str(jitter_ms)]
        if not rate_limits:
            cmd.append("--no-rate-limits")
        log = workdir / f"{name}.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=err, env=_clean_environ(), cwd=workdir
            )
        watchdog = threading.Timer(SIM_START_TIMEOUT_S, proc.kill)
        watchdog.start()
        exports: dict[str, str] = {}
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").strip()
                if line.startswith("export "):
                    key, _, value = line[len("export ") :].partition("=")
                    exports[key] = value
                if "ZOOM_PLAN" in exports:
                    break
        finally:
            watchdog.cancel()
        if "ZOOM_API_URL" not in exports or "ZOOM_PLAN" not in exports:
            proc.kill()
            proc.wait()
            raise BenchError(f"the simulator ({profile}) did not start:\n{_tail(log)}")
        return cls(proc, exports, log)

    def stats(self) -> dict[str, Any]:
        return dict(self._control("GET", "/_sim/stats"))

    def peak_rss_mb(self) -> float | None:
        """The simulator process's peak RSS so far (``VmHWM`` in ``/proc``; None where there is none)."""
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
        return None

    def reset_stats(self) -> None:
        self._control("POST", "/_sim/stats/reset")

    def advance(self, days: float) -> str:
        return str(self._control("POST", "/_sim/clock", {"advance_days": days})["now"])

    def _control(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        response = self._http.request(method, path, content=orjson.dumps(body) if body else None)
        if response.status_code != 200:
            raise BenchError(f"{method} {path} answered {response.status_code}: {response.text[:200]}")
        return orjson.loads(response.content)

    def stop(self) -> None:
        self._http.close()
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: the simulator stops cleanly
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class SyncRun:
    """One ``python -m etl sync`` child: its JSON summary, exit code, wall time and peak RSS."""

    summary: dict[str, Any]
    exit_code: int
    process_seconds: float
    peak_rss_mb: float
    warehouse: Path
    server: dict[str, Any] = field(default_factory=dict)  # /_sim/stats for this run alone

    @property
    def seconds(self) -> float:
        """The sync's own duration (run start to end, as it reports it; excludes interpreter start)."""
        return float(self.summary["seconds"])

    @property
    def rows(self) -> int:
        return sum(int(v) for v in self.summary["rows"].values())

    @property
    def api_requests(self) -> int:
        """Requests the simulator answered on the API (OAuth token requests excluded)."""
        endpoints = self.server.get("by_endpoint", {})
        return sum(int(n) for name, n in endpoints.items() if name.startswith(("/v2", "/v3")))


def run_sync(
    sim: Simulator,
    warehouse: Path,
    *,
    rate_scale: float,
    rate_share: float = BENCH_SHARE,
    source: str = "auto",
    name: str = "sync",
) -> SyncRun:
    """Run one sync as a child process against ``sim``; the simulator's counters are reset first and
    read after, so ``SyncRun.server`` holds this sync's requests only."""
    env = _clean_environ() | sim.env
    env |= {
        "ZOOM_ETL_WAREHOUSE": str(warehouse),
        "ZOOM_ETL_RATE_SCALE": str(rate_scale),
        "ZOOM_ETL_RATE_SHARE": str(rate_share),
        "ZOOM_ETL_SOURCE": source,
        "ZOOM_ETL_LOG_FORMAT": "json",
    }
    log = warehouse.parent / f"{name}.log"
    sim.reset_stats()
    started = time.perf_counter()
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "etl", "sync"],
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=warehouse.parent,  # no stray zoom-etl.toml from the caller's directory
        )
    watchdog = threading.Timer(SYNC_TIMEOUT_S, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        watchdog.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)  # we reaped it ourselves, for its rusage
    seconds = time.perf_counter() - started
    try:
        summary = orjson.loads(out)
    except orjson.JSONDecodeError:
        raise BenchError(f"{name}: exit {proc.returncode}, no JSON summary:\n{_tail(log)}") from None
    if summary.get("status") == "failed":
        raise BenchError(f"{name} failed: {summary.get('error')}\n{_tail(log)}")
    return SyncRun(
        summary=summary,
        exit_code=proc.returncode,
        process_seconds=seconds,
        peak_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        warehouse=warehouse,
        server=sim.stats(),
    )


def lower_bound(units: Mapping[str, int], limits: Mapping[str, Mapping[str, Any]], share: float) -> dict:
    """Seconds the rate limits imply for ``units`` per category (``limits``: the simulator's effective,
    already scaled, per-second rates), categories in parallel."""
    per_category = {}
    for category, used in sorted(units.items()):
        rate = float(limits[category]["per_second"]) * share
        per_category[category] = {
            "units": int(used),
            "limit_per_s": round(rate, 4),
            "seconds": round(used / rate, 3),
        }
    bound = max((c["seconds"] for c in per_category.values()), default=0.0)
    return {"seconds": bound, "by_category": per_category}


def _sync_figures(run: SyncRun, share: float) -> dict[str, Any]:
    server = run.server
    bound = lower_bound(server["units_charged"], server["limits"], share)
    return {
        "status": run.summary["status"],
        "wall_seconds": round(run.seconds, 3),
        "process_seconds": round(run.process_seconds, 3),
        "lower_bound_seconds": bound["seconds"],
        "lower_bound_by_category": bound["by_category"],
        "bound_ratio": round(run.seconds / bound["seconds"], 3) if bound["seconds"] else None,
        "requests": run.api_requests,
        # The client's count: each GraphQL request in its query's category, retries included.
        "requests_by_category": run.summary["requests_by_category"],
        "rest_requests_by_category": server["by_category"],
        "requests_by_endpoint": server["by_endpoint"],
        "units_by_category": server["units_charged"],
        "responses_429": int(server["rate_limited"]),
        "client_throttled": int(run.summary["throttled"]),
        "client_retries": int(run.summary["retries"]),
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        "rows": run.rows,
        "rows_by_table": run.summary["rows"],
        "sources": run.summary["sources"],
        **_publish_figures(run.summary),
    }


def _publish_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """What publishing the read copy cost the run (inside its wall time): seconds and size."""
    copy = summary.get("read_copy") or {}
    return {
        "publish_seconds": copy.get("seconds"),
        "read_copy_mb": None if copy.get("bytes") is None else round(copy["bytes"] / 2**20, 1),
        "read_copy_cloned": copy.get("cloned"),
    }


def _snapshot(warehouse: Path, copy: Path) -> Path:
    """A copy of the warehouse as the full sync left it (the incremental sync then writes to it)."""
    shutil.copyfile(warehouse, copy)
    wal = warehouse.with_name(warehouse.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
    return copy


@dataclass
class SyncBench:
    """Figures of parts 1 and 2, and the full sync itself (the economy part reuses its counts)."""

    full: dict[str, Any]
    incremental: dict[str, Any]
    full_run: SyncRun  # its ``warehouse`` is a copy taken before the incremental sync


def bench_sync(
    workdir: Path,
    *,
    profile: str,
    seed: int,
    rate_scale: float,
    latency_ms: float,
    jitter_ms: float,
) -> SyncBench:
    """Part 1 (full sync under the plan's limits) and part 2 (incremental after one simulated day)."""
    warehouse = workdir / "sync" / "zoom.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with Simulator.start(
        warehouse.parent,
        profile=profile,
        seed=seed,
        rate_scale=rate_scale,
        latency_ms=latency_ms,
        jitter_ms=jitter_ms,
    ) as sim:
        full_run = run_sync(sim, warehouse, rate_scale=rate_scale, name="full")
        full_run.warehouse = _snapshot(warehouse, warehouse.with_name("full.duckdb"))
        now = sim.advance(days=1)
        incremental_run = run_sync(sim, warehouse, rate_scale=rate_scale, name="incremental")
    setting = {
        "profile": profile,
        "seed": seed,
        "plan": PLAN,
        "rate_scale": rate_scale,
        "rate_share": BENCH_SHARE,
        "latency_ms": f"{latency_ms:g} + uniform(0, {jitter_ms:g})",
    }
    full = {**setting, **_sync_figures(full_run, BENCH_SHARE)}
    incremental = {**setting, "clock_after_advance": now, **_sync_figures(incremental_run, BENCH_SHARE)}
    incremental["request_fraction"] = round(incremental_run.api_requests / max(1, full_run.api_requests), 4)
    incremental["wall_fraction"] = round(incremental_run.seconds / full_run.seconds, 4)
    return SyncBench(full, incremental, full_run)


def bench_large(workdir: Path, *, profile: str, seed: int) -> tuple[dict[str, Any], Path]:
    """Part 4: a full sync of the large profile with latency 0 and limits off (simulator without limits,
    client ``rate_scale`` high); peak RSS and rows/s of the sync process. Returns the warehouse too."""
    warehouse = workdir / "large" / "zoom.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with Simulator.start(warehouse.parent, profile=profile, seed=seed, rate_limits=False) as sim:
        run = run_sync(sim, warehouse, rate_scale=LARGE_CLIENT_SCALE, name="large")
        simulator_rss = sim.peak_rss_mb()
    participants = int(run.summary["rows"].get("meeting_participants", 0))
    figures = {
        "profile": profile,
        "seed": seed,
        "status": run.summary["status"],
        "wall_seconds": round(run.seconds, 3),
        "rows": run.rows,
        "participant_rows": participants,
        "rows_per_s": round(run.rows / run.seconds, 1),
        "participant_rows_per_s": round(participants / run.seconds, 1),
        "requests": run.api_requests,
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        "simulator_peak_rss_mb": None if simulator_rss is None else round(simulator_rss, 1),
        "warehouse_mb": round(warehouse.stat().st_size / 2**20, 1),
        **_publish_figures(run.summary),
    }
    return figures, warehouse
