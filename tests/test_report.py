"""``riskpool report``: the self-contained HTML report of a result folder (docs/model.md section 8).

A small run, two small sweeps, a sensitivity study and a sizing answer of the bundled ``minimal``
scenario are made once for the module
through ``riskpool.cli.main``; the tests read their reports in both languages. The committed
reference reports of ``reports/hunan-baseline`` are regenerated and compared byte for byte. One
test opens the reports in Debian's chromium (Playwright) and checks that the charts draw offline.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from plotly.offline import get_plotlyjs

from riskpool import cli, report
from riskpool.present.formats import money
from riskpool.present.labels import LANGS, t
from riskpool.present.views import weakest_nodes
from riskpool.summary import Summary

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "reports" / "hunan-baseline"
REGENERATE = "riskpool report reports/hunan-baseline && riskpool report reports/hunan-baseline --lang zh"
RUN_SECTIONS = {"sufficiency": "report.sec_sufficiency", "capital": "report.sec_capital", "balances": "report.sec_balances",
                "survival": "report.sec_survival", "convergence": "report.sec_convergence", "weakest": "report.sec_weakest",
                "regions": "regions_title", "parties": "report.sec_parties",
                "lending": "report.sec_lending", "scenario": "report.sec_scenario", "methodology": "report.sec_method",
                "audit": "report.sec_audit"}
SWEEP_SECTIONS = {"sweep": "report.sec_sweep", "heatmap": "report.sec_heatmap", "points": "report.sec_points",
                  "scenario": "report.sec_scenario", "methodology": "report.sec_method", "audit": "report.sec_audit"}
SENSITIVITY_SECTIONS = {"design": "report.sec_design", "indices": "report.sec_indices", "points": "report.sec_points",
                        "scenario": "report.sec_scenario", "methodology": "report.sec_method", "audit": "report.sec_audit"}
SIZE_SECTIONS = {"answer": "report.sec_answer", "scenario": "report.sec_scenario", "methodology": "report.sec_method",
                 "audit": "report.sec_audit"}
SECTIONS = {"run": RUN_SECTIONS, "sweep": SWEEP_SECTIONS, "sweep_text": SWEEP_SECTIONS,
            "sensitivity": SENSITIVITY_SECTIONS, "size": SIZE_SECTIONS}
KINDS = list(SECTIONS)
RUN_CHARTS = ["fan-chart", "survival-chart", "region-chart", "party-chart"]
CHARTS = {"run": RUN_CHARTS, "sweep": ["heatmap-chart"], "sensitivity": ["sobol-p_shortfall", "sobol-payout_net_mean"],
          "size": []}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
CJK = re.compile(r"[\u3400-\u9fff]")
SWEEP_ARGS = ["--paths", "250", "--seed", "7", "--set", "funds.scale=0.05"]


# --------------------------------------------------------------------------- helpers


class Page(HTMLParser):
    """One parse of a page: tag counts, nesting errors, src/href values, section headings, texts."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.errors: list[str] = []
        self.urls: list[str] = []
        self.tags: Counter[str] = Counter()
        self.sections: dict[str, str] = {}  # section id -> its h2 heading
        self.headings: list[str] = []  # h1, h2, h3 and th texts
        self.html_lang: str | None = None
        self._section: str | None = None
        self._heading: list[str] | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        attr = dict(attrs)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href")]
        if tag == "html":
            self.html_lang = attr.get("lang")
        if tag == "section":
            self._section = attr.get("id") or ""
        if tag in ("h1", "h2", "h3", "th"):
            self._heading = []
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> with {self.open[-3:]} open at line {self.getpos()[0]}")
            return
        self.open.pop()
        if tag in ("h1", "h2", "h3", "th") and self._heading is not None:
            text = "".join(self._heading).strip()
            self.headings.append(text)
            if tag == "h2" and self._section is not None and self._section not in self.sections:
                self.sections[self._section] = text
            self._heading = None
        if tag == "section":
            self._section = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)


def without_plotly(text: str) -> str:
    """The page less the embedded plotly.js bundle (which names URLs it never fetches on its own)."""
    assert text.count(get_plotlyjs()) == 1, "plotly.js must be embedded exactly once"
    return text.replace(get_plotlyjs(), "")


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = cli.main(list(args))
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A run of 200 paths, a 3x2 sweep (heatmap), a sweep with a text axis (no heatmap), a
    sensitivity study of two parameters and a sizing answer."""
    root = tmp_path_factory.mktemp("report")
    made = {"run": root / "run", "sweep": root / "sweep", "sweep_text": root / "sweep-text",
            "sensitivity": root / "sensitivity", "size": root / "size"}
    assert cli.main(["run", "minimal", "--paths", "200", "--out", str(made["run"])]) == 0
    assert cli.main(["sweep", "minimal", "--grid", "credit.annual_pd=0.02:0.1:3", "--grid", "rules.claim_lag_months=0:6:2",
                     *SWEEP_ARGS, "--out", str(made["sweep"])]) == 0
    assert cli.main(["sweep", "minimal", "--grid", "credit.annual_pd=0.02:0.1:2", "--values", "rules.shortfall=queue,bank",
                     *SWEEP_ARGS, "--out", str(made["sweep_text"])]) == 0
    assert cli.main(["sensitivity", "minimal", "--range", "credit.annual_pd=0.02:0.2", "--range", "funds.scale=0.02:0.2",
                     "--samples", "4", *SWEEP_ARGS, "--out", str(made["sensitivity"])]) == 0
    assert cli.main(["size", "minimal", "--paths", "250", "--seed", "7", "--out", str(made["size"])]) == 0
    return made


@pytest.fixture(scope="module")
def pages(folders: dict[str, Path]) -> dict[tuple[str, str], str]:
    return {(kind, lang): report.render(folder, lang) for kind, folder in folders.items() for lang in LANGS}


# --------------------------------------------------------------------------- content


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_section_is_there_with_its_heading(pages: dict[tuple[str, str], str], kind: str, lang: str) -> None:
    page = Page(pages[kind, lang])
    expected = SECTIONS[kind]
    assert page.sections == {sid: t(key, lang) for sid, key in expected.items()}
    assert [u for u in page.urls if u.startswith("#")] == [f"#{sid}" for sid in expected]  # the contents, in order
    assert page.tags["h1"] == 1 and page.tags["table"] >= 5


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_valid_html_and_nothing_fetched_from_outside(pages: dict[tuple[str, str], str], kind: str, lang: str) -> None:
    text = pages[kind, lang]
    page = Page(text)
    assert text.startswith("<!DOCTYPE html>\n<html lang=")
    assert page.errors == [] and page.open == [], "every non-void element is closed, in order"
    assert page.html_lang == {"zh": "zh-CN", "en": "en"}[lang]
    assert '<meta charset="utf-8">' in text[:200]
    assert all(u.startswith(("#", "data:")) for u in page.urls), [u for u in page.urls if not u.startswith("#")]
    assert page.tags["link"] == 0 and page.tags["iframe"] == 0 and page.tags["img"] == 0
    rest = without_plotly(text)
    # no CDN, MathJax or topojson address anywhere outside the bundle (figure configs, styles, texts)
    assert "http://" not in rest and "https://" not in rest and "@import" not in rest


@pytest.mark.parametrize("kind", ["run", "sweep", "sensitivity", "size"])
def test_figures_have_fixed_ids_and_the_page_is_a_pure_function_of_the_folder(
        folders: dict[str, Path], pages: dict[tuple[str, str], str], kind: str, tmp_path: Path) -> None:
    text = pages[kind, "en"]
    ids = re.findall(r'<div id="([^"]+)" class="plotly-graph-div"', text)
    assert ids == CHARTS[kind]
    moved = shutil.copytree(folders[kind], tmp_path / "elsewhere" / "renamed")
    assert report.render(moved, "en") == text, "the same files elsewhere give the same bytes"
    # every date in the page is one the manifest holds: the report makes no timestamp of its own
    manifest = (folders[kind] / "manifest.json").read_text(encoding="utf-8")
    dates = set(re.findall(r"\d{4}-\d{2}-\d{2}T[\d:]+", without_plotly(text)))
    assert dates and all(d in manifest for d in dates)


def test_sweep_without_two_numeric_axes_has_no_heatmap_but_names_its_values(pages: dict[tuple[str, str], str]) -> None:
    for lang in LANGS:
        text = pages["sweep_text", lang]
        assert "plotly-graph-div" not in text and t("report.no_heatmap", lang) in text
        assert t("choice.shortfall.bank", lang) in text  # a text axis reads in words, like the scenario tables


@pytest.mark.parametrize("kind", ["run", "sweep", "sensitivity", "size"])
def test_both_languages_and_their_money(folders: dict[str, Path], pages: dict[tuple[str, str], str], kind: str) -> None:
    manifest = json.loads((folders[kind] / "manifest.json").read_text(encoding="utf-8"))
    regions = (manifest.get("scenario") or manifest["base_scenario"])["regions"]
    capital = sum(r["fund"] or 0 for r in regions)
    zh, en = pages[kind, "zh"], pages[kind, "en"]
    assert all(CJK.search(h) for h in Page(zh).sections.values()), "every Chinese section heading is Chinese"
    assert not any(CJK.search(h) for h in Page(en).headings), "no Chinese in the English headings"
    assert money(capital, "zh") in zh and re.search(r"\d (万元|亿元)", zh) and not re.search(r"CNY \d", zh)
    assert money(capital, "en") in en and re.search(r"CNY [\d,.]+ m", en) and not re.search("万元|亿元", en)


def test_run_figures_match_the_summary(folders: dict[str, Path], pages: dict[tuple[str, str], str]) -> None:
    summary = json.loads((folders["run"] / "summary.json").read_text(encoding="utf-8"))
    text = pages["run", "en"]
    fund = summary["fund"]
    assert f"{100 * fund['sufficiency']:.2f} % ± {100 * fund['p_shortfall_se']:.2f}" in text
    for key in ("q95", "q99"):
        assert money(fund["required_capital"][key], "en") in text
    weakest = text[text.index('<section id="weakest">'):text.index('<section id="parties">')]
    positions = [weakest.index(f"<code>{node}</code>") for node, _ in weakest_nodes(Summary.from_json(summary))]
    assert positions == sorted(positions), "the terminal's order of the weakest nodes"
    audit = text[text.index('<section id="audit">'):]
    for name, digest in json.loads((folders["run"] / "manifest.json").read_text())["files"].items():
        assert name in audit and digest in audit


def test_size_report_shows_the_answer(folders: dict[str, Path], pages: dict[tuple[str, str], str]) -> None:
    answer = json.loads((folders["size"] / "size.json").read_text(encoding="utf-8"))
    assert answer["scale"] is not None and answer["scale_high"] is not None
    for lang in LANGS:
        section = pages["size", lang][pages["size", lang].index('<section id="answer">'):]
        for shown in (f"{answer['scale']:.3f}×", f"{answer['scale_low']:.3f}× – {answer['scale_high']:.3f}×",
                      money(answer["capital_needed"], lang), money(answer["capital_now"], lang),
                      t("report.s_lifted", lang)):
            assert shown in section, shown


def test_sensitivity_report_shows_every_index(folders: dict[str, Path], pages: dict[tuple[str, str], str]) -> None:
    indices = pq.read_table(folders["sensitivity"] / "sensitivity.parquet").to_pylist()
    assert len(indices) == 4  # two outputs, two parameters
    text = pages["sensitivity", "en"]
    table = text[text.index('<section id="indices">'):text.index('<section id="points">')]
    for row in indices:
        for key in ("S1", "ST"):
            value = row[key]
            assert (f"{value:.3f}" if np.isfinite(value) else "–") in table, (row, key)
    assert table.count("<tr>") == 1 + len(indices)


def test_weighted_paths_show_the_sampling_and_effective_sample_size(folders: dict[str, Path], tmp_path: Path) -> None:
    folder = shutil.copytree(folders["run"], tmp_path / "weighted")
    paths = pq.read_table(folder / "paths.parquet")
    weights = np.linspace(0.5, 1.5, paths.num_rows)
    pq.write_table(paths.append_column("weight", pa.array(weights)), folder / "paths.parquet")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    ess = weights.sum() ** 2 / np.square(weights).sum()
    text = report.render(folder, "en")  # weights alone: the effective sample size comes from them
    assert t("report.a_ess", "en") in text and f"{ess:,.1f} / {paths.num_rows:,}" in text
    summary["sampling"] = {"method": "importance", "shift": [-1.5, 0.25], "ess": 123.4, "ess_shortfall": 45.6,
                           "weight_mean": 1.0}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    text = report.render(folder, "zh")
    for label, value in (("report.a_sampling", "<code>importance</code>"), ("report.a_shift", "-1.50, +0.25"),
                         ("report.a_ess", f"123.4 / {paths.num_rows:,}"), ("report.a_ess_short", "45.6")):
        assert f"<td>{t(label, 'zh')}</td><td>{value}</td>" in text


# --------------------------------------------------------------------------- command line


def test_cli_writes_each_language_and_prints_the_path(folders: dict[str, Path], pages: dict[tuple[str, str], str],
                                                       capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = shutil.copytree(folders["run"], tmp_path / "run")
    for lang, name in (("en", "report.html"), ("zh", "report.zh.html")):
        rc, out, _ = run_cli(capsys, "report", str(folder), "--lang", lang)
        assert rc == 0 and out.strip() == str(folder / name)
        assert (folder / name).read_text(encoding="utf-8") == pages["run", lang]
    rc, out, _ = run_cli(capsys, "report", str(folder), "--out", str(tmp_path / "deep" / "r.html"))
    assert rc == 0 and (tmp_path / "deep" / "r.html").read_bytes() == (folder / "report.html").read_bytes()


def test_cli_refuses_what_is_not_a_result_folder(folders: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    incomplete = shutil.copytree(folders["run"], tmp_path / "incomplete")
    (incomplete / "nodes.parquet").unlink()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "manifest.json").write_text('{"name": "not ours"}', encoding="utf-8")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{", encoding="utf-8")
    cases = [([str(tmp_path / "missing")], "no manifest.json"), ([str(tmp_path)], "no manifest.json"),
             ([str(incomplete)], "no nodes.parquet"), ([str(foreign)], "not a riskpool run, sweep, sensitivity or size manifest"),
             ([str(broken)], "not JSON"), ([str(folders["run"]), "--lang", "fr"], "--lang = 'fr'")]
    for args, words in cases:
        rc, out, err = run_cli(capsys, "report", *args)
        assert rc == 2 and out == "", args
        assert err.startswith("error: ") and err.count("\n") == 1 and words in err, err


def test_verify_command_names_the_folder_the_run_was_written_to() -> None:
    assert report._out_dir(["riskpool", "run", "--paths", "2000", "--out", "reports/hunan-baseline"]) == "reports/hunan-baseline"
    assert report._out_dir(["riskpool", "run", "minimal", "--out=runs/a b"]) == "runs/a b"
    assert report._out_dir(["riskpool", "app"]) == "DIR"  # written by the web app: no folder to name


# --------------------------------------------------------------------------- the reference reports


@pytest.mark.parametrize("lang", LANGS)
def test_reference_reports_are_regenerated_identically(lang: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    committed = REFERENCE / report.DEFAULT_FILES[lang]
    rc, _, err = run_cli(capsys, "report", str(REFERENCE), "--lang", lang, "--out", str(tmp_path / committed.name))
    assert rc == 0, err
    assert "riskpool verify reports/hunan-baseline/manifest.json" in committed.read_text(encoding="utf-8")
    assert (tmp_path / committed.name).read_bytes() == committed.read_bytes(), (
        f"{committed.relative_to(REPO)} differs from what the code makes now. If the change is meant, regenerate "
        f"the reference reports from the repository root with `{REGENERATE}` and commit them with the reason.")


# --------------------------------------------------------------------------- a real browser


def open_in_browser(browser, page_file: Path, screenshot: Path) -> tuple[int, list[str], list[str]]:
    """Open a report from file://; returns its chart count, page errors and every URL it requested."""
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda req: requests.append(req.url))
    page.goto(page_file.as_uri())
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(RUN_CHARTS)}",
                           timeout=30_000)
    assert page.locator("#fan-chart .scatterlayer .trace").count() > 0, "the fan chart drew its lines"
    # the minimal scenario's one county (430104) is drawn from its boundary: one polygon on the map
    assert page.locator("#region-chart path.js-fill").count() == 1, "the map drew the county"
    charts = page.locator(".js-plotly-plot").count()
    page.screenshot(path=str(screenshot))
    page.close()
    return charts, errors, requests


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_reports_draw_in_a_browser_offline(folders: dict[str, Path], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=["--no-sandbox"])
        try:
            for lang in LANGS:
                page_file = report.write(folders["run"], lang, tmp_path / f"report.{lang}.html")
                charts, errors, requests = open_in_browser(browser, page_file, tmp_path / f"report-{lang}.png")
                assert charts == len(RUN_CHARTS) and errors == []
                assert [u for u in requests if not u.startswith("file://")] == []
        finally:
            browser.close()
    assert all((tmp_path / f"report-{lang}.png").stat().st_size > 10_000 for lang in LANGS)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_reports_print_to_pdf_within_the_page(folders: dict[str, Path], tmp_path: Path) -> None:
    """Printed from the browser (A4, 15 mm margins: 680 CSS pixels wide), no chart or table is
    wider than the page, and each section starts a page of its own."""
    sync_api = pytest.importorskip("playwright.sync_api")
    page_file = report.write(folders["run"], "zh", tmp_path / "report.zh.html")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1400})
            page.goto(page_file.as_uri())
            page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(RUN_CHARTS)}")
            page.emulate_media(media="print")
            widest = page.evaluate("Math.max(...[...document.querySelectorAll('.js-plotly-plot, table, pre')]"
                                   ".map(e => e.getBoundingClientRect().width))")
            pdf = page.pdf(format="A4", print_background=True)
        finally:
            browser.close()
    assert 600 < widest <= 680, widest
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    assert pages >= len(RUN_SECTIONS) + 1, pages  # the contents, then a page (or more) per section
