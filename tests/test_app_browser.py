"""End to end in a real browser: `streamlit run app.py` on a free local port, driven by Debian's
chromium through Playwright (never a downloaded browser).

Under CI (the CI environment variable set, as .ci/run does) a missing chromium is a failure, not a
skip: the browser test must run there.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from riskpool import scenario
from riskpool.present import maps
from riskpool.present.labels import t
from riskpool.webapp import launch

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium")
SCREENSHOTS = Path(os.environ.get("RISKPOOL_SCREENSHOTS", ROOT / "build" / "screenshots"))
STARTUP_SECONDS = 60
RESULT_SECONDS = 120

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """`streamlit run app.py` with riskpool app's settings, on a free port of 127.0.0.1."""
    port = launch.free_port()
    proc = launch.start(port, ROOT / "app.py", cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        launch.wait_ready(url, proc, STARTUP_SECONDS)
        yield url
    finally:
        launch.stop(proc)


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM, "Debian's chromium must be installed for the browser test"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


def fund_sufficiency(page) -> str:
    card = page.locator('[data-testid="stMetric"]').filter(has_text=re.compile("整体充足率|Fund sufficiency"))
    return card.locator('[data-testid="stMetricValue"]').inner_text(timeout=RESULT_SECONDS * 1000)


def press_run(page, label: str) -> None:
    page.get_by_role("button", name=label, exact=True).click()


def test_change_the_default_rate_run_and_read_sufficiency_in_both_languages(server, browser):
    page = browser.new_page(viewport={"width": 1600, "height": 1300})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server, wait_until="domcontentloaded")
    page.get_by_role("button", name="运行", exact=True).wait_for(timeout=STARTUP_SECONDS * 1000)

    press_run(page, "运行")
    first = fund_sufficiency(page)
    assert re.fullmatch(r"\d+\.\d %( ± \d+\.\d)?", first), first

    pd_input = page.get_by_role("spinbutton", name="年违约率", exact=True)
    pd_input.fill("0.0800")
    pd_input.press("Enter")
    page.get_by_text("参数已修改").wait_for(timeout=RESULT_SECONDS * 1000)  # the result is marked stale
    press_run(page, "运行")
    page.get_by_text("参数已修改").wait_for(state="detached", timeout=RESULT_SECONDS * 1000)
    second = fund_sufficiency(page)
    assert second != first
    assert float(second.split(" %")[0]) < float(first.split(" %")[0])  # more defaults, less sufficient

    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=RESULT_SECONDS * 1000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "app-zh.png"), full_page=True)

    page.get_by_text("English", exact=True).click()
    page.get_by_role("button", name="Run", exact=True).wait_for(timeout=STARTUP_SECONDS * 1000)
    assert fund_sufficiency(page) == second  # the same result, now in English
    assert page.get_by_role("spinbutton", name="Annual default rate (PD)").input_value() == "0.0800"
    page.screenshot(path=str(SCREENSHOTS / "app-en.png"), full_page=True)
    assert not errors, errors


def test_the_region_tab_draws_a_polygon_for_every_county(server, browser):
    """The baseline's counties are drawn from their boundaries (riskpool.present.maps), each county
    with a fund among them, and hovering one names it."""
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(server, wait_until="domcontentloaded")
    page.get_by_role("button", name="运行", exact=True).wait_for(timeout=STARTUP_SECONDS * 1000)
    press_run(page, "运行")
    fund_sufficiency(page)
    page.get_by_role("tab", name="地区", exact=True).click()
    the_map = page.locator(".js-plotly-plot").filter(has_text=t("map_title", "zh"))
    polygons = the_map.locator("path.js-fill")  # a filled outline per county
    counties = [r for r in scenario.load("hunan-baseline").regions if r.tier == "county"]
    with_fund = [r for r in counties if r.fund is not None]
    assert with_fund and all(maps.boundary(r.id) is not None for r in counties)
    expect(polygons).to_have_count(len(counties), timeout=RESULT_SECONDS * 1000)  # one per county
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "app-map-zh.png"), full_page=True)


def test_the_page_is_usable_at_phone_width(server, browser):
    """At 390 CSS pixels (a phone held upright) the page runs, shows its answer and scrolls only
    downwards: nothing is wider than the screen."""
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                            has_touch=True)
    page.goto(server, wait_until="domcontentloaded")
    run = page.get_by_role("button", name="运行", exact=True)
    run.wait_for(timeout=STARTUP_SECONDS * 1000)
    run.click()
    assert re.fullmatch(r"\d+\.\d %( ± \d+\.\d)?", fund_sufficiency(page))
    page.locator('[data-testid="stPlotlyChart"]').first.wait_for(timeout=RESULT_SECONDS * 1000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for tab in ("地区", "导出"):
        page.get_by_role("tab", name=tab, exact=True).click()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, tab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.get_by_role("tab", name="地区", exact=True).click()
    page.screenshot(path=str(SCREENSHOTS / "app-phone-zh.png"))


def test_a_loan_register_upload_becomes_the_book_and_a_bad_one_stops_the_page(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(server, wait_until="domcontentloaded")
    page.get_by_role("button", name="运行", exact=True).wait_for(timeout=STARTUP_SECONDS * 1000)
    register = ROOT / "riskpool" / "examples" / "register.csv"
    bad = tmp_path / "bad.csv"
    lines = register.read_text(encoding="utf-8").splitlines()
    bad.write_text("\n".join([lines[0], lines[1].replace("HN-2024-0001,433125", "HN-2024-0001,999999"), *lines[2:]]),
                   encoding="utf-8")
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="贷款台账").locator('input[type="file"]')
    uploader.set_input_files(str(bad))
    page.get_by_text("bad.csv line 2, column county").wait_for(timeout=RESULT_SECONDS * 1000)
    expect(page.get_by_role("button", name="运行", exact=True)).to_have_count(0)  # nothing runs
    uploader.set_input_files(str(register))
    page.get_by_text("使用台账 register.csv").wait_for(timeout=RESULT_SECONDS * 1000)
    press_run(page, "运行")
    assert re.fullmatch(r"\d+\.\d %( ± \d+\.\d)?", fund_sufficiency(page))


def test_invalid_shares_disable_running_in_the_browser(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(server, wait_until="domcontentloaded")
    run = page.get_by_role("button", name="运行", exact=True)
    run.wait_for(timeout=STARTUP_SECONDS * 1000)
    page.get_by_text("损失分担比例").click()  # open the expander
    fund = page.get_by_role("spinbutton", name="风险补偿资金池", exact=True)
    fund.fill("0.900")
    fund.press("Enter")
    page.get_by_text("must sum to 1").first.wait_for(timeout=RESULT_SECONDS * 1000)
    expect(run).to_be_disabled(timeout=RESULT_SECONDS * 1000)  # the page updates top to bottom


def test_riskpool_app_serves_the_page_on_localhost_only():
    """`riskpool app` (the installed command) answers on 127.0.0.1 and not on the machine's other
    addresses; stopped, it stops its server too."""
    port = launch.free_port()
    proc = subprocess.Popen([sys.executable, "-m", "riskpool", "app", "--port", str(port)],  # nosec B603
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        launch.wait_ready(f"http://127.0.0.1:{port}", proc, STARTUP_SECONDS)
        outside = [ip for ip in socket.gethostbyname_ex(socket.gethostname())[2] if not ip.startswith("127.")]
        for ip in outside:
            with socket.socket() as sock, pytest.raises(OSError):
                sock.settimeout(2)
                sock.connect((ip, port))
    finally:
        launch.stop(proc)
    deadline = time.monotonic() + 15
    while server_answers(port) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert not server_answers(port), "streamlit kept running after riskpool app was stopped"


def server_answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0
