"""The package as users install it: a wheel carries every file read at run time (contracts, GraphQL
documents and schema, views) and the installed command works from any folder, not just a checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import orjson
import pytest

from etl import resources

ROOT = Path(__file__).resolve().parents[1]


def run_time_files() -> dict[str, Path]:
    """What the wheel must carry, by its name in the wheel: the repository's folders under etl/_data/."""
    files = [
        *resources.CONTRACTS.glob("*.toml"),
        resources.GRAPHQL_SCHEMA,
        *resources.QUERIES.glob("*.graphql"),
        *resources.VIEWS.glob("*.sql"),
    ]
    return {f"etl/_data/{path.relative_to(ROOT).as_posix()}": path for path in files}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out)]
    subprocess.run([*build, str(ROOT)], check=True, capture_output=True)
    (built,) = out.glob("zoom_etl-*.whl")
    return built


def test_the_checkout_reads_its_own_top_level_folders() -> None:
    assert resources.ROOT == ROOT  # an editable install: no etl/_data, the repository's files
    assert len(run_time_files()) >= 13 + 1 + 7 + 7


def test_the_wheel_carries_every_file_read_at_run_time_and_no_test_or_bench_material(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        expected = run_time_files()
        assert set(expected) <= names
        for name, path in expected.items():
            assert archive.read(name) == path.read_bytes(), name
    data = {n for n in names if n.startswith("etl/_data/")}
    assert data == set(expected)  # Zoom's OpenAPI file (for the tests) stays out
    assert not any(n.startswith("tests/") for n in names)
    # The benchmarks run from a checkout (``python -m bench``): neither a top-level nor an etl/bench package.
    assert not any(n.startswith(("bench/", "etl/bench/")) for n in names)
    assert {n.split("/")[0] for n in names if not n.startswith("zoom_etl-")} == {"etl"}


@pytest.mark.slow
def test_the_installed_wheel_runs_demo_docs_and_reports_from_another_folder(
    wheel: Path, tmp_path: Path
) -> None:
    """Installed (not editable) beside no checkout: the wheel's own copy of the files is what runs."""
    site = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)]
    subprocess.run(install, check=True, capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}

    def zoom_etl(*args: str) -> subprocess.CompletedProcess[str]:
        command = [str(site / "bin" / "zoom-etl"), *args]
        return subprocess.run(command, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)

    where = subprocess.run(
        [sys.executable, "-c", "from etl import resources; print(resources.ROOT)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()) == site / "etl" / "_data"
    demo = zoom_etl("demo", "--profile", "tiny", "--latency-ms", "0")
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "incremental sync: ok" in demo.stdout
    docs = zoom_etl("docs", "--warehouse", "demo.duckdb")
    assert docs.returncode == 0 and "meeting_participants" in docs.stdout
    report = zoom_etl("report", "daily_meetings", "--warehouse", "demo.duckdb", "--format", "json")
    assert report.returncode == 0, report.stderr
    assert sum(orjson.loads(line)["meetings"] for line in report.stdout.splitlines()) > 0
    # The pages: the demo's report, one written by report --html, and the dictionary with its diagram.
    assert "<svg" in (elsewhere / "demo_report.html").read_text(encoding="utf-8")
    html = zoom_etl("report", "--html", "report.html", "--warehouse", "demo.duckdb")
    assert html.returncode == 0, html.stderr
    assert (elsewhere / "report.html").read_text(encoding="utf-8").count('<svg class="chart"') == 6
    docs_html = zoom_etl("docs", "--html", "docs.html", "--warehouse", "demo.duckdb")
    assert docs_html.returncode == 0, docs_html.stderr
    assert '<svg class="erd"' in (elsewhere / "docs.html").read_text(encoding="utf-8")
