"""The benchmark command: ``python -m bench [--quick] [--only sync,throughput,large,analytics,economy]``.

Starts the simulator (its own process), runs the parts below, prints one table with the targets beside
the figures and the hardware above them, and writes every figure as JSON (``bench-results/bench.json``).

    sync        1. full sync of the bench profile under the Pro plan's limits x ``--rate-scale`` (simulator
                   and client alike), ``rate_share`` 1.0, latency 150 ms +- 50 ms: wall time, the bound
                   the limits imply, their ratio, requests by category and endpoint, 429s, peak RSS;
                2. incremental sync after one simulated day, as a fraction of the full sync
    throughput  3. decode + normalize + load of in-memory participant pages, and rebuild from raw
                   (``python -m bench.throughput``, in its own process)
    large       4. full sync of the large profile, latency 0 and limits off: peak RSS, rows/s
    analytics   5. every warehouse view on the large warehouse, in ms (runs ``large`` if needed)
    economy     6. requests per stream against the API's minimum, and GraphQL against REST

``--quick`` shrinks everything (demo profile for the sync, bench profile as "large", 100k rows of
throughput) to a few minutes; its figures are not the product's bars. Not run in CI, except the smoke
test (``tests/bench``), which runs every part on the tiny profile and checks that the JSON is complete.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import checkout_environ
from bench.analytics import bench_analytics
from bench.economy import bench_economy
from bench.sync import BenchError, SyncRun, bench_large, bench_sync

PARTS = ("sync", "throughput", "large", "analytics", "economy")
ALIASES = {"full": "sync", "incremental": "sync", "local": "throughput", "views": "analytics"}

# Every figure the issue asks for, as a path into the JSON; the smoke test checks each one is there.
FIGURES: dict[str, tuple[str, ...]] = {
    "sync": (
        "sync.wall_seconds",
        "sync.lower_bound_seconds",
        "sync.bound_ratio",
        "sync.requests_by_category",
        "sync.requests_by_endpoint",
        "sync.responses_429",
        "sync.peak_rss_mb",
        "incremental.requests",
        "incremental.wall_seconds",
        "incremental.request_fraction",
        "incremental.wall_fraction",
        "incremental.publish_seconds",
        "incremental.read_copy_mb",
    ),
    "throughput": ("throughput.sync_rows_per_s", "throughput.rebuild_rows_per_s"),
    "large": (
        "large.peak_rss_mb",
        "large.rows_per_s",
        "large.participant_rows",
        "large.publish_seconds",
        "large.read_copy_mb",
    ),
    "analytics": ("analytics.views",),
    "economy": (
        "economy.streams",
        "economy.minimum_total",
        "economy.requests_graphql_run",
        "economy.requests_rest_run",
        "economy.graphql_vs_rest",
    ),
}


def hardware() -> dict[str, Any]:
    """CPU count and model, memory, and the versions that shape the figures."""
    import duckdb
    import polars

    model = ""
    memory_gb = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        model = platform.processor()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpus": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": model or platform.machine(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "polars": polars.__version__,
        "platform": platform.platform(),
    }


def bench_throughput(workdir: Path, rows: int) -> dict[str, Any]:
    """Part 3, by running ``python -m bench.throughput`` in its own process."""
    out = workdir / "throughput.json"
    cmd = [sys.executable, "-m", "bench.throughput", "--rows", str(rows), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, cwd=workdir, env=checkout_environ(), check=False)
    if done.returncode != 0 or not out.exists():
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-10:]
        raise BenchError(f"bench.throughput exited {done.returncode}:\n" + "\n".join(tail))
    return dict(orjson.loads(out.read_bytes()))


def missing_figures(results: dict[str, Any], parts: Sequence[str] = PARTS) -> list[str]:
    """The figure paths of ``parts`` that are absent or null in ``results``."""
    missing = []
    for part in parts:
        for path in FIGURES[part]:
            node: Any = results
            for key in path.split("."):
                node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                missing.append(path)
    return missing


def parse_parts(text: str | None) -> tuple[str, ...]:
    if not text:
        return PARTS
    wanted = {ALIASES.get(p.strip(), p.strip()) for p in text.split(",") if p.strip()}
    unknown = wanted - set(PARTS)
    if unknown:
        raise SystemExit(f"unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    if "analytics" in wanted:
        wanted.add("large")  # the views are timed on the large warehouse
    return tuple(p for p in PARTS if p in wanted)


def _write(results: dict[str, Any], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Every part asked for, in order; the JSON is rewritten after each, so a long run stopped midway
    keeps the figures of the parts it finished."""
    parts = parse_parts(args.only)
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "parts": list(parts),
        "hardware": hardware(),
    }
    graphql_run: SyncRun | None = None
    large_warehouse: Path | None = None
    for part in parts:
        print(f"[bench] {part} ...", file=sys.stderr, flush=True)
        try:
            graphql_run, large_warehouse = _run_part(
                part, args, workdir, results, graphql_run, large_warehouse
            )
        except BenchError as exc:  # one failed part does not cost the others their figures
            results.setdefault("errors", {})[part] = str(exc)
            print(f"[bench] {part} failed: {exc}", file=sys.stderr, flush=True)
        _write(results, args.out)
    results["ended_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["missing"] = missing_figures(results, parts)
    return results


def _run_part(
    part: str,
    args: argparse.Namespace,
    workdir: Path,
    results: dict[str, Any],
    graphql_run: SyncRun | None,
    large_warehouse: Path | None,
) -> tuple[SyncRun | None, Path | None]:
    """Run one part into ``results``; returns what later parts reuse (the full sync, the large warehouse)."""
    if part == "sync":
        synced = bench_sync(
            workdir,
            profile=args.profile,
            seed=args.seed,
            rate_scale=args.rate_scale,
            latency_ms=args.latency_ms,
            jitter_ms=args.jitter_ms,
        )
        results["sync"], results["incremental"] = synced.full, synced.incremental
        graphql_run = synced.full_run
    elif part == "throughput":
        results["throughput"] = bench_throughput(workdir, args.throughput_rows)
    elif part == "large":
        results["large"], large_warehouse = bench_large(workdir, profile=args.large_profile, seed=args.seed)
    elif part == "analytics" and large_warehouse is not None:
        results["analytics"] = {"profile": args.large_profile, **bench_analytics(large_warehouse)}
    elif part == "economy":
        results["economy"] = bench_economy(
            workdir, profile=args.profile, seed=args.seed, graphql_run=graphql_run
        )
    return graphql_run, large_warehouse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small profiles: minutes, not the product bars")
    parser.add_argument("--only", help=f"comma-separated parts: {', '.join(PARTS)}")
    parser.add_argument(
        "--profile", help="simulator profile of parts 1, 2 and 6 (default bench; quick: demo)"
    )
    parser.add_argument("--large-profile", help="profile of parts 4 and 5 (default large; quick: bench)")
    parser.add_argument("--rate-scale", type=float, default=10.0, help="Pro limits x this, both sides")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="fixed simulated latency")
    parser.add_argument("--jitter-ms", type=float, default=100.0, help="plus uniform(0, jitter)")
    parser.add_argument("--throughput-rows", type=int, help="rows of part 3 (default 600000; quick 100000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("bench-results/bench.json"))
    parser.add_argument("--workdir", type=Path, help="keep warehouses and logs here (default: a temp dir)")
    return parser


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = build_parser().parse_args(argv)
    args.profile = args.profile or ("demo" if args.quick else "bench")
    args.large_profile = args.large_profile or ("bench" if args.quick else "large")
    args.throughput_rows = args.throughput_rows or (100_000 if args.quick else 600_000)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        results = run(args, args.workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="zoom-etl-bench-") as tmp:
            results = run(args, Path(tmp))
    _write(results, args.out)
    print(render(results))
    print(f"wrote {args.out}", file=sys.stderr)
    return results


# ---- the table ------------------------------------------------------------------------------------------

TARGETS = {
    "bound_ratio": 1.15,
    "responses_429": 0,
    "incremental_fraction": 0.05,
    "local_rows_per_s": 300_000,
    "large_peak_rss_mb": 400,
}
Row = tuple[str, str, str, str, str]  # part, figure, value, target, met


def _met(ok: bool | None) -> str:
    return "" if ok is None else ("yes" if ok else "NO")


def _num(value: Any, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _sync_rows(full: dict[str, Any], inc: dict[str, Any]) -> list[Row]:
    ratio = full["bound_ratio"]
    bound = full["lower_bound_by_category"]
    slowest = max(bound, key=lambda c: bound[c]["seconds"]) if bound else ""
    rows: list[Row] = [
        ("1", "full sync wall time", f"{full['wall_seconds']:,.1f} s", "", ""),
        (
            "1",
            f"lower bound ({slowest}: {bound[slowest]['units']:,} units"
            f" / {bound[slowest]['limit_per_s']:g}/s)"
            if slowest
            else "lower bound",
            f"{full['lower_bound_seconds']:,.1f} s",
            "",
            "",
        ),
        (
            "1",
            "wall time / lower bound",
            _num(ratio, 2),
            "<= 1.15",
            _met(None if ratio is None else ratio <= 1.15),
        ),
        ("1", "429 responses (simulator)", str(full["responses_429"]), "0", _met(full["responses_429"] == 0)),
        ("1", "peak RSS of the sync process", f"{full['peak_rss_mb']:,.0f} MB", "", ""),
        ("1", "rows loaded", f"{full['rows']:,}", "", ""),
        ("1", "API requests (simulator)", f"{full['requests']:,}", "", ""),
    ]
    for category, n in sorted(full["requests_by_category"].items()):
        units = full["units_by_category"].get(category, 0)
        rows.append(
            ("1", f"  {category}: requests (client) / units (simulator)", f"{n:,} / {units:,}", "", "")
        )
    for endpoint, n in sorted(full["requests_by_endpoint"].items()):
        rows.append(("1", f"  {endpoint}", f"{n:,}", "", ""))
    limit = TARGETS["incremental_fraction"]
    rows += [
        (
            "2",
            "incremental requests (1 simulated day later)",
            f"{inc['requests']:,} = {inc['request_fraction']:.1%}",
            f"<= {limit:.0%}",
            _met(inc["request_fraction"] <= limit),
        ),
        (
            "2",
            "incremental wall time",
            f"{inc['wall_seconds']:,.1f} s = {inc['wall_fraction']:.1%}",
            f"<= {limit:.0%}",
            _met(inc["wall_fraction"] <= limit),
        ),
        ("2", "incremental 429 responses", str(inc["responses_429"]), "0", _met(inc["responses_429"] == 0)),
        ("2", "  of which publishing the read copy", _publish(inc), "", ""),
    ]
    return rows


def _publish(figures: dict[str, Any]) -> str:
    seconds, size = figures.get("publish_seconds"), figures.get("read_copy_mb")
    if seconds is None or size is None:
        return "n/a"
    how = "cloned" if figures.get("read_copy_cloned") else "copied"
    return f"{seconds:,.2f} s ({size:,.0f} MB {how})"


def _local_rows(local: dict[str, Any]) -> list[Row]:
    target = TARGETS["local_rows_per_s"]
    fast = local.get("sync_rows_per_s")
    rebuild = local.get("rebuild_rows_per_s")
    return [
        (
            "3",
            f"decode+normalize+load ({local.get('rows', 0):,} rows)",
            f"{_num(fast)} rows/s",
            f">= {target:,}",
            _met(None if fast is None else fast >= target),
        ),
        (
            "3",
            "rebuild from raw",
            f"{_num(rebuild)} rows/s",
            f">= {target:,}",
            _met(None if rebuild is None else rebuild >= target),
        ),
    ]


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} MB"


def _large_rows(large: dict[str, Any]) -> list[Row]:
    limit = TARGETS["large_peak_rss_mb"]
    return [
        (
            "4",
            f"{large['profile']} profile: peak RSS of the sync",
            f"{large['peak_rss_mb']:,.0f} MB",
            f"< {limit}",
            _met(large["peak_rss_mb"] < limit),
        ),
        (
            "4",
            f"  rows/s ({large['rows']:,} rows, {large['participant_rows']:,} participants)",
            f"{large['rows_per_s']:,.0f} ({large['wall_seconds']:,.1f} s)",
            "",
            "",
        ),
        ("4", "  publishing the read copy", _publish(large), "", ""),
        (
            "4",
            "  peak RSS of the simulator serving it",
            _mb(large.get("simulator_peak_rss_mb")),
            "",
            "",
        ),
    ]


def _economy_rows(eco: dict[str, Any]) -> list[Row]:
    rows: list[Row] = [("6", "stream: requests (graphql run / rest run) vs minimum", "", "", "")]
    for name, s in eco["streams"].items():
        value = f"{s['requests']:,} / {s['requests_rest']:,} vs {s['minimum']:,}"
        rows.append(("6", f"  {name} ({s['source'] or '-'})", value, "", ""))
    rows += [
        (
            "6",
            "total: graphql run / rest run vs minimum",
            f"{eco['requests_graphql_run']:,} / {eco['requests_rest_run']:,} vs {eco['minimum_total']:,}",
            "",
            "",
        ),
        (
            "6",
            "GraphQL requests / REST requests" + " (REST sees less data)" * (not eco["same_data"]),
            f"{eco['graphql_vs_rest']:.3f}",
            "",
            "",
        ),
    ]
    return rows


def render(results: dict[str, Any]) -> str:
    """The one table: hardware and settings above, then every figure with its target."""
    hw = results["hardware"]
    head = [
        f"zoom-etl benchmark  {results['started_at']}"
        + "  (--quick: not the product bars)" * results["quick"],
        f"hardware: {hw['cpus']} CPUs ({hw['cpus_usable']} usable), {hw['cpu_model']}, {hw['memory_gb']} GiB;"
        f" Python {hw['python']}, duckdb {hw['duckdb']}, polars {hw['polars']}",
    ]
    if "sync" in results:
        full = results["sync"]
        head.append(
            f"parts 1-2: profile {full['profile']} (seed {full['seed']}),"
            f" {full['plan']} limits x{full['rate_scale']:g}"
            f" on simulator and client, rate_share {full['rate_share']:g}, latency {full['latency_ms']} ms;"
            " bound = max over categories of rate-limit units charged / (limit x scale x share)"
        )
    rows: list[Row] = []
    if "sync" in results:
        rows += _sync_rows(results["sync"], results["incremental"])
    if "throughput" in results:
        rows += _local_rows(results["throughput"])
    if "large" in results:
        rows += _large_rows(results["large"])
    if "analytics" in results:
        for name, view in results["analytics"]["views"].items():
            value = f"{view['median_ms']:,.1f} ms (first {view['first_ms']:,.1f}; {view['rows']:,} rows)"
            rows.append(("5", f"view analytics.{name}", value, "", ""))
    if "economy" in results:
        rows += _economy_rows(results["economy"])
    header: Row = ("part", "figure", "value", "target", "met")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
    lines = [*head, ""]
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    if results.get("missing"):
        lines.append("missing figures: " + ", ".join(results["missing"]))
    for part, error in results.get("errors", {}).items():
        lines.append(f"part {part} failed: {error}")
    return "\n".join(lines)


if __name__ == "__main__":
    done = main()
    sys.exit(1 if done.get("errors") or done.get("missing") else 0)
