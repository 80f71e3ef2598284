"""Smoke run of the benchmark command (``python -m bench``): every part on the tiny profile.

Proves the command runs end to end (simulator and syncs in their own processes, the throughput module,
the large-profile sync, the views, the REST comparison) and that the JSON holds every figure the issue
asks for. No speed is asserted: figures on the tiny profile mean nothing, and timers do not belong in tests.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from bench.__main__ import FIGURES, PARTS, main, missing_figures, parse_parts
from bench.throughput import STAGES, stage_costs
from etl.analytics import load_reports
from etl.streams import STREAMS


@pytest.mark.slow
def test_every_part_runs_and_the_json_has_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    main(
        [
            "--profile", "tiny",
            "--large-profile", "tiny",
            "--throughput-rows", "3000",
            "--rate-scale", "50",
            "--latency-ms", "0",
            "--jitter-ms", "0",
            "--out", str(out),
            "--workdir", str(tmp_path / "work"),
        ]
    )  # fmt: skip
    results = orjson.loads(out.read_bytes())
    assert results["parts"] == list(PARTS)
    assert missing_figures(results) == []
    assert results["missing"] == []
    assert "errors" not in results

    full, inc = results["sync"], results["incremental"]
    assert full["status"] in ("ok", "partial") and full["rows"] > 0
    assert full["rate_share"] == 1.0 and full["rate_scale"] == 50
    assert full["requests"] == sum(
        n for endpoint, n in full["requests_by_endpoint"].items() if endpoint != "/oauth/token"
    )
    assert full["lower_bound_seconds"] == max(c["seconds"] for c in full["lower_bound_by_category"].values())
    assert full["peak_rss_mb"] > 0
    assert 0 < inc["requests"] < full["requests"]
    assert inc["request_fraction"] == pytest.approx(inc["requests"] / full["requests"], abs=1e-4)

    assert results["large"]["participant_rows"] > 0 and results["large"]["peak_rss_mb"] > 0
    assert results["large"]["simulator_peak_rss_mb"] > 0  # read from /proc while the simulator runs
    assert set(results["analytics"]["views"]) == {r.name for r in load_reports()}

    economy = results["economy"]
    assert {s.name for s in STREAMS} <= set(economy["streams"])
    assert economy["minimum_total"] == sum(s["minimum"] for s in economy["streams"].values())
    assert economy["requests_graphql_run"] == full["requests"]  # the part-1 sync, reused
    assert economy["requests_rest_run"] > 0

    table = capsys.readouterr().out
    assert "hardware:" in table and "wall time / lower bound" in table
    for part in ("1", "2", "3", "4", "5", "6"):
        assert any(line.startswith(part + " ") for line in table.splitlines()), f"no row of part {part}"


def test_missing_figures_names_what_is_absent() -> None:
    results = {"sync": {"wall_seconds": 1.0, "bound_ratio": None}}
    missing = missing_figures(results, ["sync"])
    assert "sync.bound_ratio" in missing and "sync.wall_seconds" not in missing
    assert "incremental.requests" in missing
    assert len(missing) == len(FIGURES["sync"]) - 1


def test_parts_are_chosen_by_name_and_analytics_brings_the_large_sync() -> None:
    assert parse_parts(None) == PARTS
    assert parse_parts("economy,incremental") == ("sync", "economy")
    assert parse_parts("analytics") == ("large", "analytics")
    with pytest.raises(SystemExit, match="unknown part"):
        parse_parts("sync,speed")


def test_stage_costs_cover_every_stage_of_the_path(tmp_path: Path) -> None:
    costs = stage_costs(3_000, 600, tmp_path)
    assert list(costs) == list(STAGES)
    assert all(v >= 0 for v in costs.values())
    assert costs["normalize"] > 0 and costs["write"] > 0  # a stage not run would read 0
    assert list(tmp_path.glob("stages.duckdb")), "the stages ran on a real DuckDB file"
