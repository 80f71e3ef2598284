"""Local throughput: decode + normalize + load of participant pages, and rebuild from raw.

    python -m bench.throughput [--rows 600000] [--batch-rows 50000] [--no-raw] [--serial] [--stages]
                                   [--out FILE]

Builds realistic ``GET /report/meetings/{uuid}/participants`` page bodies (300 records each, as bytes,
with guests, rejoins and signed-in users) and spools them to a file, then times, on a real DuckDB file:
decoding the bodies (stdlib ``json`` and ``orjson``, on a sample, to justify the choice), the full path
body → ``Page`` → the pipeline's ``Batch`` (normalized in parts of ``PART_ROWS`` rows as pages arrive)
→ load (raw landing on, one transaction per batch with its checkpoints; the load overlaps the next
batch's decode and normalize through ``BackgroundLoader`` unless ``--serial``), and ``rebuild``.
Prints a table with rows/s, CPU time per row and the machine's load average (this box is shared: CPU
per row is the steadier figure), writes JSON, and reports peak RSS.
``--stages`` adds where the CPU goes: each stage of the same path run alone, one after the other, in
process CPU microseconds per row (Polars' and DuckDB's own threads included). No network, no
simulator: this is the local bar of PRODUCT.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from etl.load import BackgroundLoader, LoadResult, commit
from etl.load.batch import write
from etl.normalize import normalize
from etl.normalize.frame import text_frame
from etl.pipeline import Batch
from etl.rebuild import rebuild
from etl.records import Checkpoint, Page
from etl.warehouse import Warehouse
from etl.warehouse.connection import scalar
from etl.warehouse.raw import encode_pages

PAGE_SIZE = 300
STREAM = "meeting_participants"


def participant_pages(rows: int, seed: int = 7) -> list[tuple[str, bytes]]:
    """(instance uuid, page body) pairs; about a quarter of the segments are guests, some rejoin."""
    return list(iter_participant_pages(rows, seed))


def iter_participant_pages(rows: int, seed: int = 7) -> Iterator[tuple[str, bytes]]:
    """``participant_pages`` one page at a time."""
    rng = random.Random(seed)
    start = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
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
        yield uuid, orjson.dumps(body)
        made += count


def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("inf")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def participant_page(uuid: str, body: bytes, fetched: datetime) -> Page:
    """A participants page body decoded into the ``Page`` a sync would emit for it."""
    records = orjson.loads(body)["participants"]
    request = f"GET /report/meetings/{uuid}/participants"
    return Page(STREAM, "bench", "rest", request, fetched, records, {"meeting_uuid": uuid})


def time_decoder(bodies: Sequence[bytes], rows: int, loads: Callable[[bytes], Any]) -> float:
    started = time.perf_counter()
    for body in bodies:
        loads(body)["participants"]
    return _rate(rows, time.perf_counter() - started)


def spool(pages: Iterable[tuple[str, bytes]], path: Path) -> list[tuple[str, int, int]]:
    """Write the page bodies to ``path``; returns (uuid, offset, length) per page. The timed loop reads
    each body back (from the page cache) just before decoding it, as a sync gets it off the network,
    so the benchmark's own data does not sit in its memory and peak RSS is the loader's."""
    index = []
    offset = 0
    with path.open("wb") as out:
        for uuid, body in pages:
            out.write(body)
            index.append((uuid, offset, len(body)))
            offset += len(body)
    return index


def run(rows: int, batch_rows: int, raw: bool, directory: Path, *, overlap: bool = True) -> dict[str, Any]:
    sample = [b for _, b in participant_pages(min(rows, 15_000))]  # small: its records must not set peak RSS
    sample_rows = sum(len(orjson.loads(b)["participants"]) for b in sample)
    decoders = {
        "json": time_decoder(sample, sample_rows, json.loads),
        "orjson": time_decoder(sample, sample_rows, orjson.loads),
    }
    index = spool(iter_participant_pages(rows), directory / "bodies.bin")
    del sample
    path = directory / "bench.duckdb"
    fetched = datetime(2024, 6, 1, tzinfo=UTC)
    phases = {"decode": 0.0, "normalize": 0.0, "load_wait": 0.0}
    loaded = 0

    def count(result: LoadResult) -> None:
        nonlocal loaded
        loaded += result.rows.get(STREAM, 0)

    load_avg = os.getloadavg()[0]
    with Warehouse.open(path, raw=raw) as wh, (directory / "bodies.bin").open("rb") as bodies:
        run_id = wh.start_run([STREAM])
        loader = BackgroundLoader(wh) if overlap else None
        cpu0, started, main0 = _cpu(), time.perf_counter(), time.thread_time()
        batch = Batch(wh, run_id)
        for n, (uuid, offset, length) in enumerate(index):
            t0 = time.perf_counter()
            page = participant_page(uuid, os.pread(bodies.fileno(), length, offset), fetched)
            t1 = time.perf_counter()
            batch.add(page)  # normalizes a part of the batch every PART_ROWS rows, as a sync does
            batch.add(Checkpoint(STREAM, "bench", {"page": n}, (uuid,)))
            t2 = time.perf_counter()
            phases["decode"] += t1 - t0
            phases["normalize"] += t2 - t1
            if batch.rows >= batch_rows or n == len(index) - 1:
                normalized = batch.normalized()
                t3 = time.perf_counter()
                if loader is not None:
                    loader.submit(
                        run_id,
                        normalized,
                        pages=batch.landing(),
                        checkpoints=batch.checkpoints,
                        on_done=count,
                    )
                else:
                    count(
                        commit(wh, run_id, normalized, pages=batch.landing(), checkpoints=batch.checkpoints)
                    )
                phases["normalize"] += t3 - t2
                phases["load_wait"] += time.perf_counter() - t3
                batch = Batch(wh, run_id)
        if loader is not None:
            t3 = time.perf_counter()
            loader.drain()
            loader.close()
            phases["load_wait"] += time.perf_counter() - t3
        wh.conn.execute("CHECKPOINT")  # what is still in the WAL: a sync pays for it when it closes
        sync_seconds, sync_cpu = time.perf_counter() - started, _cpu() - cpu0
        main_cpu = time.thread_time() - main0
        loader_cpu = loader.cpu_seconds if loader is not None else 0.0
        # This machine is shared: what the same work would take on two idle cores, bounded below by
        # the busier thread and by the total CPU spread over both cores (an estimate, not a timing).
        idle_estimate = max(main_cpu, loader_cpu, sync_cpu / 2) if overlap else sync_cpu
        wh.finish_run(run_id, status="ok", exit_code=0)
        stored = int(scalar(wh.conn, f"SELECT count(*) FROM zoom.{STREAM}"))
        assert loaded == stored, "the loader reported other counts than it stored"
        rebuild_rate = rebuild_cpu = None
        if raw:
            cpu0, t0 = _cpu(), time.perf_counter()
            rebuilt = rebuild(wh, [STREAM])
            rebuild_rate = _rate(rows, time.perf_counter() - t0)
            rebuild_cpu = (_cpu() - cpu0) * 1e6 / rows
            assert rebuilt[STREAM] == stored, "rebuild lost or added rows"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {
        "rows": rows,
        "pages": len(index),
        "batch_rows": batch_rows,
        "raw_landing": raw,
        "overlap": overlap,
        "rows_stored": stored,
        "load_average_1m": load_avg,
        "decode_only_rows_per_s": decoders,
        "decoder": max(decoders, key=lambda k: decoders[k]),
        "sync_rows_per_s": _rate(rows, sync_seconds),
        "sync_seconds": sync_seconds,
        "sync_cpu_us_per_row": sync_cpu * 1e6 / rows,
        "thread_cpu_seconds": {"main": main_cpu, "loader": loader_cpu, "process": sync_cpu},
        "idle_2core_estimate_rows_per_s": _rate(rows, idle_estimate),
        "phase_seconds": phases,
        "rebuild_rows_per_s": rebuild_rate,
        "rebuild_cpu_us_per_row": rebuild_cpu,
        "peak_rss_mb": round(peak, 1),
        "warehouse_mb": round(path.stat().st_size / 2**20, 1),
    }


STAGES = {
    "decode": "decode (orjson.loads, Python objects)",
    "text_frame": "  records -> Polars text frame (from_dicts)",
    "normalize": "normalize (text frame included)",
    "raw_encode": "raw landing: orjson.dumps + zstd",
    "write": "write: one transaction (raw, rows, state)",
    "checkpoint": "final CHECKPOINT",
}


def stage_costs(rows: int, batch_rows: int, directory: Path) -> dict[str, float]:
    """Process CPU microseconds per row of each stage, each run alone (serially) on every batch."""
    cpu = dict.fromkeys(STAGES, 0.0)

    def timed(stage: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        before = _cpu()
        out = fn(*args, **kwargs)
        cpu[stage] += _cpu() - before
        return out

    def decode(chunk: list[tuple[str, bytes]]) -> list[Page]:
        return [participant_page(u, b, datetime(2024, 6, 1, tzinfo=UTC)) for u, b in chunk]

    with Warehouse.open(directory / "stages.duckdb") as wh:
        run_id = wh.start_run([STREAM])
        pending = list(iter_participant_pages(rows))
        per_batch = max(1, batch_rows // PAGE_SIZE)
        for start in range(0, len(pending), per_batch):
            pages = timed("decode", decode, pending[start : start + per_batch])
            records = [r for p in pages for r in p.records]
            timed("text_frame", text_frame, records, sorted(records[0]))
            normalized = timed("normalize", normalize, pages, wh.contracts, run_id)
            encoded = timed("raw_encode", encode_pages, pages)
            timed("write", write, wh, run_id, normalized, pages=encoded)
        timed("checkpoint", wh.conn.execute, "CHECKPOINT")
        wh.finish_run(run_id, status="ok", exit_code=0)
    return {stage: seconds * 1e6 / rows for stage, seconds in cpu.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=600_000, help="participant rows to load")
    parser.add_argument("--batch-rows", type=int, default=50_000, help="rows per load transaction")
    parser.add_argument("--no-raw", action="store_true", help="skip raw landing (and the rebuild timing)")
    parser.add_argument(
        "--serial", action="store_true", help="commit on the calling thread (no BackgroundLoader overlap)"
    )
    parser.add_argument("--stages", action="store_true", help="also time each stage alone (CPU per row)")
    parser.add_argument("--out", type=Path, default=Path("bench-throughput.json"), help="JSON result file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="zoom-etl-bench-") as tmp:
        result = run(args.rows, args.batch_rows, not args.no_raw, Path(tmp), overlap=not args.serial)
        if args.stages:
            result["stage_cpu_us_per_row"] = stage_costs(args.rows, args.batch_rows, Path(tmp))
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [
        ("rows (pages of 300)", f"{result['rows']:,} ({result['pages']:,})"),
        ("decode only, json", f"{result['decode_only_rows_per_s']['json']:,.0f} rows/s"),
        ("decode only, orjson", f"{result['decode_only_rows_per_s']['orjson']:,.0f} rows/s"),
        ("load average (1 min) at start", f"{result['load_average_1m']:.2f}"),
        (
            "decode+normalize+load",
            f"{result['sync_rows_per_s']:,.0f} rows/s ({result['sync_cpu_us_per_row']:.1f} us CPU/row)",
        ),
        (
            "  CPU main thread/loader thread/process",
            " / ".join(f"{v:.2f}s" for v in result["thread_cpu_seconds"].values()),
        ),
        ("  estimate on 2 idle cores", f"{result['idle_2core_estimate_rows_per_s']:,.0f} rows/s"),
        (
            "  decode/normalize/wait for load",
            " / ".join(f"{v:.2f}s" for v in result["phase_seconds"].values()),
        ),
        (
            "rebuild from raw",
            "n/a (--no-raw)"
            if result["rebuild_rows_per_s"] is None
            else f"{result['rebuild_rows_per_s']:,.0f} rows/s "
            f"({result['rebuild_cpu_us_per_row']:.1f} us CPU/row)",
        ),
        ("peak RSS", f"{result['peak_rss_mb']:,.0f} MB"),
    ]
    if "stage_cpu_us_per_row" in result:
        lines.append(("stages alone, process CPU per row", ""))
        lines += [(f"  {STAGES[k]}", f"{v:.2f} us") for k, v in result["stage_cpu_us_per_row"].items()]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
