"""Local throughput: decode + normalize + load of participant pages, and rebuild from raw.

    python -m etl.bench.throughput [--rows 600000] [--batch-rows 30000] [--no-raw] [--out FILE]

Builds realistic ``GET /report/meetings/{uuid}/participants`` page bodies (300 records each, as bytes,
with guests, rejoins and signed-in users), then times, on a real DuckDB file: decoding the bodies
(stdlib ``json`` and ``orjson``, to justify the choice), the full path body → ``Page`` → ``normalize``
→ ``commit`` (raw landing on, one transaction per batch with a checkpoint), and ``rebuild``. Prints a
table, writes JSON, and reports peak RSS. No network, no simulator: this is the local bar of PRODUCT.md.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from etl.load import commit
from etl.normalize import normalize
from etl.records import Checkpoint, Page
from etl.warehouse import Warehouse
from etl.warehouse.connection import scalar
from etl.warehouse.rebuild import rebuild

PAGE_SIZE = 300
STREAM = "meeting_participants"


def participant_pages(rows: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """(instance uuid, page body) pairs; about a quarter of the segments are guests, some rejoin."""
    rng = random.Random(seed)
    start = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    pages: list[tuple[str, bytes]] = []
    made = 0
    meeting = 0
    while made < rows:
        meeting += 1
        uuid = f"{rng.getrandbits(96):024x}=="
        count = min(PAGE_SIZE, rows - made)
        records = []
        for i in range(count):
            guest = rng.random() < 0.25
            person = rng.randrange(50_000)
            join = start + timedelta(minutes=meeting * 7, seconds=rng.randrange(3600))
            seconds = rng.randrange(30, 5400)
            records.append(
                {
                    "customer_key": "",
                    "duration": seconds,
                    "failover": False,
                    "id": "" if guest else f"{person:022d}",
                    "join_time": f"{join:%Y-%m-%dT%H:%M:%SZ}",
                    "leave_time": f"{join + timedelta(seconds=seconds):%Y-%m-%dT%H:%M:%SZ}",
                    "name": f"Guest {rng.randrange(40)}" if guest else f"Person {person}",
                    "registrant_id": "",
                    "status": "in_meeting",
                    "user_email": "" if guest else f"person{person}@example.com",
                    "user_id": "" if guest and rng.random() < 0.5 else str(16778240 + meeting * 1000 + i),
                    "bo_mtg_id": "",
                    "participant_user_id": "" if guest else f"P{person:021d}",
                }
            )
        body = {"next_page_token": "", "page_count": 1, "page_size": PAGE_SIZE, "total_records": count}
        body["participants"] = records
        pages.append((uuid, orjson.dumps(body)))
        made += count
    return pages


def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("inf")


def time_decoder(bodies: Sequence[bytes], rows: int, loads: Callable[[bytes], Any]) -> float:
    started = time.perf_counter()
    for body in bodies:
        loads(body)["participants"]
    return _rate(rows, time.perf_counter() - started)


def run(rows: int, batch_rows: int, raw: bool, directory: Path) -> dict[str, Any]:
    bodies = participant_pages(rows)
    only = [b for _, b in bodies]
    decoders = {
        "json": time_decoder(only, rows, json.loads),
        "orjson": time_decoder(only, rows, orjson.loads),
    }
    path = directory / "bench.duckdb"
    fetched = datetime(2024, 6, 1, tzinfo=UTC)
    phases = {"decode": 0.0, "normalize": 0.0, "load": 0.0}
    loaded = 0
    with Warehouse.open(path, raw=raw) as wh:
        run_id = wh.start_run([STREAM])
        started = time.perf_counter()
        batch: list[Page] = []
        for n, (uuid, body) in enumerate(bodies):
            t0 = time.perf_counter()
            records = orjson.loads(body)["participants"]
            batch.append(
                Page(
                    STREAM,
                    "bench",
                    "rest",
                    f"GET /report/meetings/{uuid}/participants",
                    fetched,
                    records,
                    {"meeting_uuid": uuid},
                )
            )
            phases["decode"] += time.perf_counter() - t0
            if sum(len(p.records) for p in batch) >= batch_rows or n == len(bodies) - 1:
                t1 = time.perf_counter()
                normalized = normalize(batch, wh.contracts, run_id)
                t2 = time.perf_counter()
                cp = Checkpoint(STREAM, "bench", {"page": n}, tuple(p.context["meeting_uuid"] for p in batch))
                result = commit(wh, run_id, normalized, pages=batch, checkpoints=[cp])
                t3 = time.perf_counter()
                phases["normalize"] += t2 - t1
                phases["load"] += t3 - t2
                loaded += result.rows.get(STREAM, 0)
                batch = []
        sync_seconds = time.perf_counter() - started
        wh.finish_run(run_id, status="ok", exit_code=0)
        stored = int(scalar(wh.conn, f"SELECT count(*) FROM zoom.{STREAM}"))
        rebuild_rate = None
        if raw:
            t0 = time.perf_counter()
            rebuilt = rebuild(wh, [STREAM])
            rebuild_rate = _rate(rows, time.perf_counter() - t0)
            assert rebuilt[STREAM] == stored, "rebuild lost or added rows"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "rows": rows,
        "pages": len(bodies),
        "batch_rows": batch_rows,
        "raw_landing": raw,
        "rows_stored": stored,
        "decode_only_rows_per_s": decoders,
        "decoder": max(decoders, key=lambda k: decoders[k]),
        "sync_rows_per_s": _rate(rows, sync_seconds),
        "sync_seconds": sync_seconds,
        "phase_seconds": phases,
        "rebuild_rows_per_s": rebuild_rate,
        "peak_rss_mb": round(peak, 1),
        "warehouse_mb": round(path.stat().st_size / 2**20, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m etl.bench.throughput", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--rows", type=int, default=600_000, help="participant rows to load")
    parser.add_argument("--batch-rows", type=int, default=30_000, help="rows per load transaction")
    parser.add_argument("--no-raw", action="store_true", help="skip raw landing (and the rebuild timing)")
    parser.add_argument("--out", type=Path, default=Path("bench-throughput.json"), help="JSON result file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="zoom-etl-bench-") as tmp:
        result = run(args.rows, args.batch_rows, not args.no_raw, Path(tmp))
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [
        ("rows (pages of 300)", f"{result['rows']:,} ({result['pages']:,})"),
        ("decode only, json", f"{result['decode_only_rows_per_s']['json']:,.0f} rows/s"),
        ("decode only, orjson", f"{result['decode_only_rows_per_s']['orjson']:,.0f} rows/s"),
        ("decode+normalize+load", f"{result['sync_rows_per_s']:,.0f} rows/s"),
        (
            "  of which decode/normalize/load",
            " / ".join(f"{v:.2f}s" for v in result["phase_seconds"].values()),
        ),
        (
            "rebuild from raw",
            "n/a (--no-raw)"
            if result["rebuild_rows_per_s"] is None
            else f"{result['rebuild_rows_per_s']:,.0f} rows/s",
        ),
        ("peak RSS", f"{result['peak_rss_mb']:,.0f} MB"),
    ]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
