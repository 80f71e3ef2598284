"""The long reliability soak (not in CI): many rounds of "kill a sync somewhere, run it again, compare".

    python -m bench.soak [--rounds 30] [--profile tiny] [--seed 42] [--faults] [--batch-rows 100]

Each round picks a crash point of ``etl.crashpoints`` and a visit count at random (seeded), runs a sync in
a child process against the built-in simulator (optionally injecting 5xx, resets, truncated and malformed
bodies and 429 storms), lets it die by SIGKILL there, runs it again to completion, and compares every
``zoom`` table with an uninterrupted run over the same simulated data (``table_diff``). Odd rounds do this
to the incremental sync one simulated day after a full one, where SCD2 history moves. A point the run
never reaches just means a clean run; it is compared too.

Prints one line per round on stderr and a JSON summary on stdout; exits 1 if any round differed.

    python -m bench.soak --convergence [--rounds 3] [--seed 42]

The convergence campaign (``tests/reliability/test_rel_convergence.py`` over more seeds): for each seed,
each fault of ``CONVERGENCE_FAULTS`` at 5% and 30%, one faulty sync then at most ``CLEAN_RUNS`` fault-free
ones must end identical to a clean sync of that seed, every run before that exiting 3 (partial) with
outstanding gaps in ``_etl.gaps``.

``table_diff`` and ``history_problems`` are THE comparison of the reliability suite too
(``tests/reliability``): identical multisets of rows in every ``zoom`` table, ignoring only ``_run_id``,
``_synced_at`` and, in history tables, ``valid_from``/``valid_to`` (wall-clock times of the fetch).

``python -m bench.soak child BATCH_ROWS`` is the child: a sync with settings from the environment
(exactly as ``zoom-etl sync`` reads them) and ``BATCH_ROWS`` rows per batch, which the CLI cannot set.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import orjson

from bench import checkout_environ

CLEAN_RUNS = 2  # fault-free runs after a faulty one within which the warehouse must equal a clean sync
FaultCase = Callable[[float], tuple[dict[str, float], dict[str, Any]]]
# Per fault of the simulator: its knobs at a rate, and the sync settings of the faulty run. GraphQL
# failures are not retried there (retry_attempts 1), so each one makes its stream fall back to REST.
CONVERGENCE_FAULTS: dict[str, FaultCase] = {
    "graphql partial errors": lambda rate: ({"graphql_partial_error_rate": rate}, {}),
    "graphql failures (fallback)": lambda rate: ({"graphql_error_rate": rate}, {"retry_attempts": 1}),
    "5xx": lambda rate: ({"error_rate": rate}, {}),
    "resets": lambda rate: ({"reset_rate": rate}, {}),
    "truncation": lambda rate: ({"truncate_rate": rate}, {}),
}
CONVERGENCE_RATES = (0.05, 0.30)

IGNORED = frozenset({"_run_id", "_synced_at"})
IGNORED_IN_HISTORY = IGNORED | {"valid_from", "valid_to"}
# Crash points of a sync and how often a tiny-profile run visits them (full sync, incremental sync):
# the visit to kill at is drawn below that, so most rounds really are killed.
SYNC_POINTS = {
    "pipeline.event": (250, 40),
    "pipeline.before_analytics": (1, 1),
    "pipeline.before_finish": (1, 1),
    "load.begin": (15, 2),
    "load.after_raw": (15, 2),
    "load.after_tables": (15, 2),
    "load.after_state": (15, 2),
    "load.after_commit": (15, 2),
    "upsert.after_replace": (40, 8),
    "history.after_close": (8, 2),
}


# ---- the comparison ------------------------------------------------------------------------------------


def _attach(conn: duckdb.DuckDBPyConnection, path: Path, name: str) -> None:
    conn.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS {name} (READ_ONLY)")


def _columns(conn: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[str]]:
    rows = conn.execute(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c"
        " JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)"
        " WHERE c.table_catalog = ? AND c.table_schema = 'zoom' AND t.table_type = 'BASE TABLE'"
        " ORDER BY c.table_name, c.ordinal_position",
        [catalog],
    ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return out


def table_diff(left: Path, right: Path) -> dict[str, str]:
    """Per ``zoom`` table that differs between two warehouse files, what differs; empty: identical."""
    conn = duckdb.connect()
    try:
        _attach(conn, left, "l")
        _attach(conn, right, "r")
        lcols, rcols = _columns(conn, "l"), _columns(conn, "r")
        problems: dict[str, str] = {}
        for table in sorted(set(lcols) | set(rcols)):
            if table not in lcols or table not in rcols:
                problems[table] = f"only in {'left' if table in lcols else 'right'}"
                continue
            ignored = IGNORED_IN_HISTORY if table.endswith("_history") else IGNORED
            lc = [c for c in lcols[table] if c not in ignored]
            rc = [c for c in rcols[table] if c not in ignored]
            if sorted(lc) != sorted(rc):
                problems[table] = f"columns differ: {sorted(set(lc) ^ set(rc))}"
                continue
            cols = ", ".join(f'"{c}"' for c in lc)
            only = [
                _count(
                    conn,
                    f"SELECT {cols} FROM {a}.zoom.{table} EXCEPT ALL SELECT {cols} FROM {b}.zoom.{table}",
                )
                for a, b in (("l", "r"), ("r", "l"))
            ]
            if any(only):
                sizes = [_count(conn, f"SELECT * FROM {c}.zoom.{table}") for c in "lr"]
                problems[table] = (
                    f"{only[0]} rows only left, {only[1]} only right (of {sizes[0]}, {sizes[1]})"
                )
        return problems
    finally:
        conn.close()


def _count(conn: duckdb.DuckDBPyConnection, query: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM ({query})").fetchone()
    return int(row[0]) if row else 0


def history_problems(path: Path) -> list[str]:
    """SCD2 invariants per history table: one current version per key, ``valid_to`` NULL exactly on it,
    versions chaining without gap or overlap, no two consecutive versions with the same row hash."""
    from etl.contracts import load_contracts

    conn = duckdb.connect()
    problems: list[str] = []
    try:
        _attach(conn, path, "w")
        for contract in load_contracts().values():
            if not contract.history_table:
                continue
            h = f"w.zoom.{contract.history_table}"
            key = ", ".join(f'"{k}"' for k in ("account_id", *contract.key))
            checks = {
                "keys without exactly one current version": f"SELECT {key} FROM {h} GROUP BY ALL"
                " HAVING count(*) FILTER (WHERE is_current) <> 1",
                "valid_to set on a current version or missing on a closed one": f"SELECT * FROM {h}"
                " WHERE (valid_to IS NULL) <> is_current",
                "versions that do not chain": f"SELECT * FROM (SELECT valid_to, lead(valid_from) OVER"
                f" (PARTITION BY {key} ORDER BY valid_from) AS next FROM {h})"
                " WHERE valid_to IS DISTINCT FROM next",
                "consecutive versions with the same row hash": f"SELECT * FROM (SELECT _row_hash,"
                f" lag(_row_hash) OVER (PARTITION BY {key} ORDER BY valid_from) AS prev FROM {h})"
                " WHERE _row_hash = prev",
            }
            for what, query in checks.items():
                bad = _count(conn, query)
                if bad:
                    problems.append(f"{contract.history_table}: {bad} {what}")
    finally:
        conn.close()
    return problems


# ---- the child -----------------------------------------------------------------------------------------


def child(batch_rows: int) -> int:
    from etl.config import load_settings
    from etl.logs import setup_logging
    from etl.pipeline import SyncOptions, sync

    settings = load_settings({}, os.environ, None)
    setup_logging("json", secrets=[a.client_secret.reveal() for a in settings.accounts])
    result = sync(settings, SyncOptions(batch_rows=batch_rows, batch_seconds=3600.0))
    sys.stdout.write(orjson.dumps(result.as_dict()).decode() + "\n")
    return result.exit_code


def child_command(batch_rows: int) -> list[str]:
    return [sys.executable, "-m", "bench.soak", "child", str(batch_rows)]


# ---- the soak ------------------------------------------------------------------------------------------


def _env(sim: Any, warehouse: Path, rate_scale: float) -> dict[str, str]:
    env = {k: v for k, v in checkout_environ().items() if not k.startswith("ZOOM")}
    return {**env, **sim.environ(warehouse, ZOOM_ETL_RATE_SCALE=str(rate_scale))}


def _run(env: dict[str, str], batch_rows: int, cwd: Path, crash_at: str | None = None) -> int:
    env = {**env, "ZOOM_ETL_CRASH_AT": crash_at} if crash_at else env
    done = subprocess.run(child_command(batch_rows), env=env, cwd=cwd, capture_output=True, timeout=1800)
    return done.returncode


def soak(args: argparse.Namespace) -> dict[str, Any]:
    from etl.simulator.app import SimulatorConfig
    from etl.simulator.clock import REFERENCE_EPOCH
    from etl.simulator.faults import FaultSettings
    from etl.simulator.server import start

    rng = random.Random(args.seed)
    base = SimulatorConfig(
        profile=args.profile, seed=args.seed, epoch=REFERENCE_EPOCH, rate_scale=args.rate_scale
    )
    work = Path(tempfile.mkdtemp(prefix="zoom-etl-soak-"))
    full, incremental = work / "reference-full.duckdb", work / "reference-incremental.duckdb"
    with start(base) as sim:  # the references: uninterrupted runs
        env = _env(sim, full, args.rate_scale)
        if _run(env, args.batch_rows, work) != 0:
            raise SystemExit("the reference full sync failed")
        shutil.copyfile(full, incremental)
        sim.advance(days=1)
        if _run({**env, "ZOOM_ETL_WAREHOUSE": str(incremental)}, args.batch_rows, work) != 0:
            raise SystemExit("the reference incremental sync failed")
    rounds: list[dict[str, Any]] = []
    started = time.monotonic()
    for number in range(args.rounds):
        phase = "incremental" if number % 2 else "full"
        name = rng.choice(sorted(SYNC_POINTS))
        visits = SYNC_POINTS[name][phase == "incremental"]
        scale = 1 if args.profile == "tiny" or visits == 1 else 10
        point = f"{name}:{rng.randint(1, visits * scale)}"
        faults = FaultSettings()
        if args.faults and rng.random() < 0.5:
            faults = FaultSettings(error_rate=0.1, reset_rate=0.03, truncate_rate=0.03, malformed_rate=0.03)
        warehouse = work / f"round-{number}.duckdb"
        if phase == "incremental":
            shutil.copyfile(full, warehouse)
        with start(SimulatorConfig(**{**base.__dict__, "faults": faults})) as sim:
            if phase == "incremental":
                sim.advance(days=1)
            env = _env(sim, warehouse, args.rate_scale)
            crashed = _run(env, args.batch_rows, work, point)
            final = _run(env, args.batch_rows, work)
        diff = table_diff(warehouse, incremental if phase == "incremental" else full)
        history = history_problems(warehouse)
        entry = {
            "round": number,
            "phase": phase,
            "point": point,
            "faults": faults != FaultSettings(),
            "killed": crashed == -9,
            "rerun_exit": final,
            "diff": diff,
            "history": history,
        }
        rounds.append(entry)
        ok = final == 0 and not diff and not history
        print(
            f"round {number} {phase:<11} {point:<28} killed={entry['killed']!s:<5} {'ok' if ok else diff}",
            file=sys.stderr,
        )
        if ok and not args.keep:
            warehouse.unlink(missing_ok=True)
            Path(f"{warehouse}.wal").unlink(missing_ok=True)
    bad = [r for r in rounds if r["rerun_exit"] != 0 or r["diff"] or r["history"]]
    if not bad and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "rounds": len(rounds),
        "killed": sum(r["killed"] for r in rounds),
        "with_faults": sum(r["faults"] for r in rounds),
        "failed": bad,
        "seconds": round(time.monotonic() - started, 1),
        "workdir": str(work) if bad or args.keep else None,
    }


def _gap_count(path: Path) -> int:
    conn = duckdb.connect(str(path), read_only=True)
    try:
        return _count(conn, "SELECT * FROM _etl.gaps")
    finally:
        conn.close()


def convergence(args: argparse.Namespace) -> dict[str, Any]:
    """The convergence campaign (see the module docstring): one entry per seed, fault and rate."""
    from etl.simulator.app import SimulatorConfig
    from etl.simulator.clock import REFERENCE_EPOCH
    from etl.simulator.faults import FaultSettings
    from etl.simulator.server import start

    work = Path(tempfile.mkdtemp(prefix="zoom-etl-convergence-"))
    cases: list[dict[str, Any]] = []
    started = time.monotonic()
    for seed in range(args.seed, args.seed + args.rounds):
        base = SimulatorConfig(
            profile=args.profile, seed=seed, epoch=REFERENCE_EPOCH, rate_scale=args.rate_scale
        )
        reference = work / f"reference-{seed}.duckdb"
        with start(base) as sim:
            if _run(_env(sim, reference, args.rate_scale), args.batch_rows, work) != 0:
                raise SystemExit(f"the reference sync of seed {seed} failed")
        for fault, case in CONVERGENCE_FAULTS.items():
            for rate in CONVERGENCE_RATES:
                knobs, flags = case(rate)
                warehouse = work / f"seed-{seed}-{len(cases)}.duckdb"
                config = SimulatorConfig(**{**base.__dict__, "faults": FaultSettings().with_knobs(**knobs)})
                runs: list[dict[str, Any]] = []
                with start(config) as sim:
                    env = _env(sim, warehouse, args.rate_scale)
                    extra = {f"ZOOM_ETL_{k.upper()}": str(v) for k, v in flags.items()}
                    for attempt in range(1 + CLEAN_RUNS):
                        code = _run({**env, **extra} if attempt == 0 else env, args.batch_rows, work)
                        diff = table_diff(warehouse, reference)
                        runs.append({"exit": code, "gaps": _gap_count(warehouse), "diff": diff})
                        if not diff:
                            break
                        sim.set_faults(**dict.fromkeys(knobs, 0.0))
                last = runs[-1]
                # Converged, and every run before that said partial with gaps recorded.
                # A run may also fail outright (exit 1: a REST request past its retries); never exit 0.
                ok = not last["diff"] and all(
                    (r["exit"] == 3 and r["gaps"]) or r["exit"] == 1 for r in runs[:-1]
                )
                ok = ok and last["gaps"] == 0 and (len(runs) == 1 or last["exit"] == 0)
                entry = {"seed": seed, "fault": fault, "rate": rate, "runs": runs, "ok": ok}
                cases.append(entry)
                print(
                    f"seed {seed} {fault:<28} {rate:>4.0%} exits {[r['exit'] for r in runs]}"
                    f" gaps {[r['gaps'] for r in runs]} {'ok' if ok else last['diff']}",
                    file=sys.stderr,
                )
                if ok and not args.keep:
                    warehouse.unlink(missing_ok=True)
    bad = [c for c in cases if not c["ok"]]
    if not bad and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "cases": len(cases),
        "converged": len(cases) - len(bad),
        "clean_runs_needed": {
            str(n): sum(1 for c in cases if c["ok"] and len(c["runs"]) - 1 == n)
            for n in range(CLEAN_RUNS + 1)
        },
        "failed": bad,
        "seconds": round(time.monotonic() - started, 1),
        "workdir": str(work) if bad or args.keep else None,
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["child"]:
        return child(int(argv[1]))
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--profile", default="tiny")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--faults", action="store_true", help="inject faults in half of the rounds")
    parser.add_argument("--batch-rows", type=int, default=100)
    parser.add_argument("--rate-scale", type=float, default=50.0)
    parser.add_argument("--keep", action="store_true", help="keep every warehouse (default: only failures)")
    parser.add_argument(
        "--convergence",
        action="store_true",
        help="the convergence campaign instead: --rounds seeds, every fault at 5%% and 30%%",
    )
    args = parser.parse_args(argv)
    if args.convergence and "--rounds" not in argv:
        args.rounds = 3
    summary = convergence(args) if args.convergence else soak(args)
    sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
