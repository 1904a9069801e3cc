"""End-to-end browser test: Debian's chromium driven by Playwright, headless, network features off.

Loads the page from a real server on loopback, submits the shipped example and checks that
result cards with structures, overlay plots and assignment tables appear; every request the page
makes must go to the server itself (no outside resources). A screenshot is written to the test's
temporary folder, or to ``$NMRLENS_SCREENSHOT_DIR`` when set.

Skipped cleanly unless both are present (see docs/web.md for the install commands):
playwright (Python package, importable) and a chromium executable (``$NMRLENS_CHROMIUM`` or
``chromium`` / ``chromium-browser`` on PATH).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]
playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (see docs/web.md)")

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-extensions", "--no-first-run", "--disable-domain-reliability", "--disable-client-side-phishing-detection",
    "--metrics-recording-only", "--no-pings", "--dns-prefetch-disable",
    "--disable-features=NetworkPrediction,OptimizationHints,MediaRouter,Translate,AutofillServerCommunication",
]


def _chromium() -> str:
    path = os.environ.get("NMRLENS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("no chromium executable (apt-get install chromium, or set NMRLENS_CHROMIUM)")
    return path


@pytest.fixture(scope="module")
def server_url():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("bench_web", ROOT / "benchmarks" / "bench_web.py")
    bench = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(bench)  # type: ignore[union-attr]
    server, base, thread = bench.start_server(str(ROOT / "tests" / "data" / "elucidate_library.json"))
    yield base
    server.should_exit = True
    thread.join(timeout=30)


def test_page_runs_the_example_and_shows_result_cards(server_url: str, tmp_path: Path) -> None:
    exe = _chromium()
    shots = Path(os.environ.get("NMRLENS_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    errors: list[str] = []
    with playwright_sync.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("pageerror", lambda e: errors.append(str(e)))

            def route(r):  # noqa: ANN001, ANN202
                if r.request.url.startswith(server_url):
                    return r.continue_()
                outside.append(r.request.url)
                return r.abort()

            page.route("**/*", route)
            page.goto(server_url + "/")
            assert page.title() == "nmrlens"
            page.click("#example")
            page.wait_for_function("document.getElementById('query-text').value.includes('13C NMR')")
            page.click("#run")
            page.wait_for_selector(".result-card", timeout=120_000)
            cards = page.locator(".result-card")
            assert cards.count() >= 3
            first = cards.nth(0)
            assert first.locator(".smiles").inner_text() == "CC(=O)OCc1ccccc1"
            assert first.locator(".structure-svg svg").count() == 1  # the structure drawing
            assert first.locator("svg.plot").count() == 2  # 1H and 13C overlays
            assert first.locator("table.assignment tr").count() == 1 + 10  # header + 7 13C + 3 1H peaks
            assert "candidates" in page.inner_text("#status")
            # interaction: clicking an observed peak highlights its assignment row
            first.locator("svg.plot[data-nucleus='13C'] line.obs").first.dispatch_event("click")
            assert first.locator("table.assignment tr.hl").count() == 1
            page.screenshot(path=str(shots / "elucidate.png"), full_page=False)
        finally:
            browser.close()
    assert not outside, f"the page asked for outside resources: {outside}"
    assert not errors, errors
    assert (shots / "elucidate.png").stat().st_size > 10_000
