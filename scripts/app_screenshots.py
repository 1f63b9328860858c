"""Take the screenshots of docs/analysts.md's walk-through of the web app.

Starts the app on a free local port, drives Debian's chromium through Playwright as an analyst
would (run the baseline, keep it in the workspace, raise the default rate and keep that too, look
at the map of the regions, explore, compare, switch to English; then the map at phone width, and
the top of the reference run's reports) and writes PNG files into docs/img/.

Usage::

    python scripts/app_screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from riskpool.present.labels import t
from riskpool.webapp import launch

ROOT = Path(__file__).resolve().parents[1]
WAIT_MS = 180_000


def run_and_wait(page: Page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()
    expect(page.get_by_text("参数已修改")).to_have_count(0, timeout=WAIT_MS)
    page.locator('[data-testid="stMetricValue"]').first.wait_for(timeout=WAIT_MS)
    page.wait_for_timeout(1500)  # let the charts draw


def set_number(page: Page, label: str, value: str) -> None:
    field = page.get_by_role("spinbutton", name=label, exact=True)
    field.fill(value)
    field.press("Enter")
    page.wait_for_timeout(800)


def tab(page: Page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    page.wait_for_timeout(1000)


def keep(page: Page, name: str) -> None:
    """Add the scenario on the page to the workspace of the compare tab, under ``name``."""
    tab(page, "对比")
    page.get_by_label("情景名称").fill(name)
    page.get_by_label("情景名称").press("Enter")
    page.get_by_role("button", name="加入工作区", exact=True).click()
    page.wait_for_timeout(2500)


def phone(page: Page, out: Path) -> Path:
    """The region tab at phone width (390 CSS pixels)."""
    page.get_by_role("button", name="运行", exact=True).wait_for(timeout=WAIT_MS)
    run_and_wait(page, "运行")
    tab(page, "地区")
    path = out / "app-7-phone-zh.png"
    page.screenshot(path=str(path))
    return path


def report_shots(browser, out: Path) -> list[Path]:
    """The top of the reference run's report, in English and in Chinese (docs/analysts.md section 6)."""
    shots = []
    for name, page_file in (("report-en", "report.html"), ("report-zh", "report.zh.html")):
        page = browser.new_page(viewport={"width": 960, "height": 1500})
        page.goto((ROOT / "reports" / "hunan-baseline" / page_file).as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4")
        path = out / f"{name}.png"
        page.screenshot(path=str(path))
        page.close()
        shots.append(path)
    return shots


def walk_through(page: Page, out: Path) -> list[Path]:
    shots = []

    def shot(name: str) -> None:
        path = out / f"app-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    page.get_by_role("button", name="运行", exact=True).wait_for(timeout=WAIT_MS)
    run_and_wait(page, "运行")
    shot("1-baseline-zh")
    keep(page, "基准")
    set_number(page, "年违约率", "0.0400")
    run_and_wait(page, "运行")
    keep(page, "违约率 4%")
    tab(page, "资金余额")
    shot("2-pd-doubled-zh")
    tab(page, "地区")
    shot("3-regions-zh")
    tab(page, "探索")
    page.get_by_role("button", name="计算热力图", exact=True).click()
    page.locator(".js-plotly-plot").filter(has_text=t("heatmap_title", "zh")).wait_for(timeout=WAIT_MS)
    page.get_by_role("button", name="需要多少资金？", exact=True).click()
    page.get_by_text("需要约").wait_for(timeout=WAIT_MS)
    page.wait_for_timeout(1500)
    shot("4-explore-zh")
    tab(page, "对比")
    shot("5-compare-zh")
    page.get_by_role("button", name="保存工作区（JSON）").scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    path = out / "app-5b-workspace-zh.png"
    page.screenshot(path=str(path))
    shots.append(path)
    page.get_by_text("English", exact=True).click()
    page.get_by_role("button", name="Run", exact=True).wait_for(timeout=WAIT_MS)
    tab(page, "Balances")
    page.wait_for_timeout(1500)
    shot("6-pd-doubled-en")
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    port = launch.free_port()
    proc = launch.start(port, ROOT / "app.py", cwd=ROOT)
    try:
        launch.wait_ready(f"http://127.0.0.1:{port}", proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1500, "height": 1500})
            page.goto(f"http://127.0.0.1:{port}", wait_until="domcontentloaded")
            for path in walk_through(page, args.out):
                print(path)
            small = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
            small.goto(f"http://127.0.0.1:{port}", wait_until="domcontentloaded")
            print(phone(small, args.out))
            for path in report_shots(browser, args.out):
                print(path)
            browser.close()
    finally:
        launch.stop(proc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
