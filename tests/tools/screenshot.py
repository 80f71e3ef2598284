"""``make screenshot``: the demo's HTML report and the data dictionary's diagram as PNG files in docs/.

Runs ``zoom-etl demo`` (demo profile, the fixed ``REFERENCE_EPOCH`` clock, so the picture only changes when
the code does) in a temporary folder, opens its report in headless Chromium (Debian's, through Playwright)
and writes docs/report.png (the whole page) and docs/erd.png (the diagram of ``zoom-etl docs --html``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "visual"))
from conftest import find_chromium  # noqa: E402

from etl.simulator.clock import REFERENCE_EPOCH  # noqa: E402


def main() -> None:
    chromium = find_chromium()
    if chromium is None:
        sys.exit("no Chromium found: apt-get install -y --no-install-recommends chromium")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as folder:
        clock = REFERENCE_EPOCH.strftime("%Y-%m-%dT%H:%M:%S")
        etl = [sys.executable, "-m", "etl"]
        subprocess.run([*etl, "demo", "--latency-ms", "0", "--clock-start", clock], cwd=folder, env=env,
                       check=True, capture_output=True)  # fmt: skip
        subprocess.run([*etl, "docs", "--html", "docs.html", "--warehouse", "demo.duckdb"], cwd=folder,
                       env=env, check=True)  # fmt: skip
        (ROOT / "docs").mkdir(exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto((Path(folder) / "demo_report.html").as_uri())
            page.screenshot(path=ROOT / "docs" / "report.png", full_page=True)
            page.goto((Path(folder) / "docs.html").as_uri())
            page.locator("#erd").screenshot(path=ROOT / "docs" / "erd.png")
            browser.close()
    for name in ("report.png", "erd.png"):
        print(f"docs/{name}: {(ROOT / 'docs' / name).stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
