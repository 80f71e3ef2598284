"""Recording downloads measured: ``python -m bench.recordings [--profile bench] [--dir DIR]``.

1. a simulator of the profile (rate limits scaled by ``--rate-scale`` on both sides, as the other
   benchmarks do) and a sync of ``users`` and ``recordings`` into ``DIR/zoom.duckdb``;
2. ``zoom-etl recordings download`` in a child process (``/usr/bin/time -v`` reads its peak RSS): files,
   bytes, wall time, requests the simulator served;
3. killed and resumed: the download folder emptied, the same command killed (SIGKILL) once about half the
   bytes are on disk, then run again; every file compared with the simulator's bytes;
4. transcript parsing alone: every downloaded TRANSCRIPT and CC file read by ``parse_vtt``, rows per second.

Prints one JSON object. Keep the machine's load in mind (``uptime``): the simulator and the client share it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from etl.config import load_settings
from etl.pipeline import SyncOptions, sync
from etl.recordings.parse import parse_vtt
from etl.simulator.app import SimulatorConfig
from etl.simulator.clock import REFERENCE_EPOCH
from etl.simulator.media import MediaBody
from etl.simulator.server import RunningSimulator, start


def _truth(sim: RunningSimulator) -> dict[str, bytes]:
    """sha256 of every file the simulator lists, by zoom.recording_files.id."""
    account, now = sim.account, sim.clock.now()
    out: dict[str, bytes] = {}
    for user in account.users(now):
        for rec in account.recordings(user.id, now - timedelta(days=400), now, now):
            for f in rec.files:
                key = f.id
                if f.file_type in ("CC", "TIMELINE"):
                    key = f"{f.file_type}|{f.meeting_id}|{f.recording_start:%Y-%m-%dT%H:%M:%SZ}"
                data = (
                    f.content.encode()
                    if f.content
                    else MediaBody(f.file_type, f.file_size, f.seed).read(0, f.file_size)
                )
                out[key] = hashlib.sha256(data).digest()
    return out


def _on_disk(folder: Path) -> int:
    """Bytes under ``folder`` now (files come and go while a download runs)."""
    total = 0
    for path in folder.rglob("*") if folder.exists() else ():
        try:
            total += path.stat().st_size if path.is_file() else 0
        except FileNotFoundError:
            continue
    return total


def _command(out: Path, concurrency: int, extra: list[str]) -> list[str]:
    return [
        "/usr/bin/time", "-v", sys.executable, "-m", "etl", "recordings", "download", "--out", str(out),
        "--allow-host", "localhost", "--min-free-gb", "1", "--concurrency", str(concurrency), *extra,
    ]  # fmt: skip


def _run(command: list[str], env: dict[str, str]) -> tuple[float, dict, int]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    lines = [line for line in done.stdout.decode().splitlines() if line.startswith("{")]
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr.decode())
    if not lines:
        raise SystemExit(f"download failed: {done.stderr.decode()[-2000:]}")
    return seconds, orjson.loads(lines[-1]), int(rss.group(1)) if rss else -1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="bench")
    parser.add_argument("--dir", type=Path, default=Path("bench-recordings"))
    parser.add_argument("--rate-scale", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    warehouse, out = args.dir / "zoom.duckdb", args.dir / "files"
    config = SimulatorConfig(profile=args.profile, seed=42, epoch=REFERENCE_EPOCH, rate_scale=args.rate_scale)
    report: dict[str, object] = {"profile": args.profile, "at": datetime.now(UTC).isoformat()}
    with start(config) as sim:
        env = {**os.environ, **sim.environ(warehouse)}
        settings = load_settings({}, env, None)
        started = time.perf_counter()
        synced = sync(settings, SyncOptions(streams=("users", "recordings")))
        report["sync"] = {
            "status": synced.status,
            "rows": synced.rows,
            "seconds": round(time.perf_counter() - started, 1),
        }
        truth = _truth(sim)

        sim.reset_stats()
        seconds, summary, rss = _run(_command(out, args.concurrency, []), env)
        stats = sim.stats()
        report["download"] = {
            "files": summary["complete"], "failed": summary["failed"], "bytes": summary["bytes"],
            "wall_seconds": round(seconds, 2), "mb_per_s": round(summary["bytes"] / 1e6 / seconds, 1),
            "peak_rss_mb": round(rss / 1024, 1), "client_requests": summary["requests"],
            "served_by_endpoint": stats["by_endpoint"], "segments": summary["segments"],
            "chat_messages": summary["chat_messages"],
        }  # fmt: skip
        print(orjson.dumps(report).decode(), file=sys.stderr, flush=True)
        seconds2, again, _ = _run(_command(out, args.concurrency, []), env)
        report["second_run"] = {
            "already": again["already"],
            "bytes": again["bytes"],
            "requests": again["requests"],
            "wall_seconds": round(seconds2, 2),
        }

        # killed and resumed: start over, kill at about half the bytes
        shutil.rmtree(out)
        with subprocess.Popen(
            [*_command(out, args.concurrency, ["--no-parse"])[2:]],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ) as child:  # fmt: skip
            half = summary["bytes"] // 2
            while child.poll() is None:
                if _on_disk(out) >= half:
                    child.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.2)
            child.wait()
        parts = list(out.rglob("*.part"))
        killed_at = _on_disk(out)
        seconds3, resumed, _ = _run(_command(out, args.concurrency, []), env)
        rows = dict(
            (row[0], row[1])
            for row in __import__("duckdb")
            .connect(str(warehouse.with_name("zoom_read.duckdb")), read_only=True)
            .execute("SELECT file_id, path FROM zoom.recording_downloads WHERE status = 'complete'")
            .fetchall()
        )
        identical = sum(hashlib.sha256((out / p).read_bytes()).digest() == truth[k] for k, p in rows.items())
        report["killed_and_resumed"] = {
            "bytes_on_disk_when_killed": killed_at, "part_files_left": len(parts),
            "resumed_files": resumed["resumed"], "already": resumed["already"],
            "completed": resumed["complete"], "bytes_fetched_after": resumed["bytes"],
            "failed": resumed["failed"], "wall_seconds": round(seconds3, 2),
            "files_byte_identical": identical, "files": len(rows),
        }  # fmt: skip

    texts = [p for p in out.rglob("*.vtt")]
    raw = [(p.read_text(encoding="utf-8"), " - TRANSCRIPT - " in p.name) for p in texts]
    started = time.perf_counter()
    cues = sum(len(parse_vtt(text, speakers=speakers)) for text, speakers in raw)
    elapsed = time.perf_counter() - started
    report["parse"] = {
        "files": len(raw), "mb": round(sum(len(t) for t, _ in raw) / 1e6, 2), "rows": cues,
        "seconds": round(elapsed, 3), "rows_per_s": round(cues / elapsed),
    }  # fmt: skip
    report["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())


if __name__ == "__main__":
    main()
