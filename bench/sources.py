"""GraphQL against REST: one simulated account synced through each source, every table compared.

    python -m bench.sources [--profile bench] [--seed 42] [--json]

Both syncs read the same simulator (same seed, same clock), so any difference is the sources'. Per table it
counts the keys both have, the keys only one has, and per column the rows both have whose values differ,
leaving out columns one source never fills (a column REST's listing has and GraphQL's model lacks is a
gap in coverage, not a disagreement; they are listed apart). The differences Zoom documents are expected
and named: REST's report lists no meeting nobody but the host joined (so those instances and their
participants are GraphQL's alone), and ``meeting_instances.listed_by`` says which API served a row. Exit
1 when anything else differs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from etl.config import load_settings
from etl.contracts import load_contracts
from etl.pipeline import sync
from etl.simulator.app import SimulatorConfig
from etl.simulator.clock import REFERENCE_EPOCH
from etl.simulator.server import start
from etl.streams import STREAMS
from etl.warehouse.reader import open_read_only

BOOKKEEPING = frozenset({"_run_id", "_synced_at", "valid_from", "valid_to", "is_current", "_row_hash"})
BY_DESIGN = {("meeting_instances", "listed_by")}  # says which API served the row: differs by definition
# Rows one source alone has, as Zoom documents: REST's report leaves out one-participant meetings.
ALONE = "(SELECT uuid FROM {db}.zoom.meeting_instances WHERE participants_count < 2)"
GRAPHQL_ONLY = {"meeting_instances": "uuid", "meeting_participants": "meeting_uuid"}


@dataclass
class TableDiff:
    table: str
    both: int = 0
    graphql_only: int = 0
    rest_only: int = 0
    expected_graphql_only: int = 0
    columns: dict[str, int] = field(default_factory=dict)  # column -> rows that disagree
    graphql_lacks: list[str] = field(default_factory=list)
    rest_lacks: list[str] = field(default_factory=list)

    @property
    def unexpected(self) -> bool:
        return bool(self.rest_only or self.graphql_only != self.expected_graphql_only or self.columns)


def compare(graphql: Path, rest: Path) -> list[TableDiff]:
    """Every table of the registry's streams in the two warehouses, compared on its primary key (not
    ``zoom.events``: Zoom's webhooks feed it, through neither source)."""
    contracts = load_contracts()
    fed = {table for stream in STREAMS for table in stream.tables}
    with open_read_only(graphql) as conn:
        conn.execute(f"ATTACH '{rest}' AS r (READ_ONLY)")
        return [_table(conn, c.table, list(c.primary_key)) for c in contracts.values() if c.table in fed]


def _table(conn: Any, table: str, key: list[str]) -> TableDiff:
    diff = TableDiff(table)
    g, r = f"warehouse.zoom.{table}", f"r.zoom.{table}"
    columns = [
        c
        for (c,) in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'warehouse'"
            " AND table_schema = 'zoom' AND table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        if c not in BOOKKEEPING and c not in key and c != "account_id"
    ]
    on = " AND ".join(f"g.{k} IS NOT DISTINCT FROM r.{k}" for k in key)
    joined = f"{g} g JOIN {r} r ON {on}"
    history = table.endswith("_history")
    current = " WHERE g.is_current AND r.is_current" if history else ""
    diff.both = conn.execute(f"SELECT count(*) FROM {joined}{current}").fetchone()[0]
    only = "SELECT count(*) FROM {a} a WHERE NOT EXISTS (SELECT 1 FROM {b} b WHERE {on})"
    a_on = " AND ".join(f"a.{k} IS NOT DISTINCT FROM b.{k}" for k in key)
    diff.graphql_only = conn.execute(only.format(a=g, b=r, on=a_on)).fetchone()[0]
    diff.rest_only = conn.execute(only.format(a=r, b=g, on=a_on)).fetchone()[0]
    if table in GRAPHQL_ONLY:
        column = GRAPHQL_ONLY[table]
        alone = ALONE.format(db="warehouse")
        diff.expected_graphql_only = conn.execute(
            f"SELECT count(*) FROM {g} WHERE {column} IN {alone}"
        ).fetchone()[0]
    for column in columns:
        filled = conn.execute(f"SELECT count({column}) FROM {g}").fetchone()[0]
        filled_r = conn.execute(f"SELECT count({column}) FROM {r}").fetchone()[0]
        if filled_r and not filled:
            diff.graphql_lacks.append(column)
        if filled and not filled_r:
            diff.rest_lacks.append(column)
        if not filled or not filled_r or (table, column) in BY_DESIGN:
            continue
        differing = conn.execute(
            f"SELECT count(*) FROM {joined}{current}{' AND' if current else ' WHERE'}"
            f" g.{column} IS DISTINCT FROM r.{column}"
        ).fetchone()[0]
        if differing:
            diff.columns[column] = differing
    return diff


def run(profile: str, seed: int) -> list[TableDiff]:
    sim = start(SimulatorConfig(profile=profile, seed=seed, epoch=REFERENCE_EPOCH, rate_scale=50.0))
    try:
        folder = Path(tempfile.mkdtemp(prefix="zoom-etl-sources-"))
        for source in ("graphql", "rest"):
            result = sync(load_settings({"source": source}, sim.environ(folder / f"{source}.duckdb"), None))
            if result.exit_code != 0:
                raise SystemExit(f"the {source} sync ended {result.status}: {result.error}")
        return compare(folder / "graphql.duckdb", folder / "rest.duckdb")
    finally:
        sim.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sources", description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="bench")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    diffs = run(args.profile, args.seed)
    if args.json:
        sys.stdout.write(orjson.dumps([d.__dict__ for d in diffs]).decode() + "\n")
    else:
        _print(diffs)
    return 1 if any(d.unexpected for d in diffs) else 0


def _print(diffs: list[TableDiff]) -> None:
    print(
        f"{'table':<22} {'both':>8} {'graphql only':>13} {'expected':>9} {'rest only':>9}  differing columns"
    )
    for d in diffs:
        cols = ", ".join(f"{c} {n}" for c, n in d.columns.items()) or "-"
        counts = f"{d.both:>8} {d.graphql_only:>13} {d.expected_graphql_only:>9} {d.rest_only:>9}"
        print(f"{d.table:<22} {counts}  {cols}")
    print("expected: instances nobody but the host joined, and their participants (REST's report omits them)")
    for d in diffs:
        for source, lacks in (("graphql", d.graphql_lacks), ("rest", d.rest_lacks)):
            if lacks:
                print(f"{d.table}: only the other source fills {', '.join(lacks)} ({source} lacks them)")


if __name__ == "__main__":
    raise SystemExit(main())
