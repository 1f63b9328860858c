"""The filing report: one self-contained HTML page of a run or sweep folder, in Chinese or English.

``render(folder, lang)`` reads nothing but the folder (summary.json, months.parquet, paths.parquet
and manifest.json of a run; manifest.json and sweep.parquet of a sweep) and the installed code, so
the same folder gives the same bytes: the page makes no timestamp of its own, every figure has a
fixed div id, and plotly.js is embedded once. Nothing is fetched from the network. Every value is
escaped on its way into the page (``Html`` marks what is already HTML).
"""

from __future__ import annotations

import html
import json
import shlex
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from plotly.graph_objects import Figure
from pydantic import BaseModel

from ..files.atomic import atomic_write
from ..files.contents import Contents
from ..files.runfolder import RESULT_FILES
from ..importance import effective_sample_size
from ..present import figures
from ..present.charts import heatmap_axes, heatmap_grid
from ..present.labels import LABELS, LANGS, Lang, money, month_label, percent, t
from ..present.views import funded_tiers, groups, parties, weakest_nodes
from ..scenario import TIERS, Problem, Scenario, ScenarioError
from ..study.sensitivity import INDICES_FILE
from ..study.sizing import ANSWER_FILE
from ..study.store import POINTS_FILE
from ..summary import Group, Summary

RUN_FILES = ("manifest.json", *RESULT_FILES)
SWEEP_FILES = ("manifest.json", POINTS_FILE)
SENSITIVITY_FILES = ("manifest.json", POINTS_FILE, INDICES_FILE)
SIZE_FILES = ("manifest.json", ANSWER_FILE)
NEEDED_KEYS = {"run": ("scenario", "seed", "paths"), "sweep": ("sweep", "base_scenario"),
               "sensitivity": ("sensitivity", "base_scenario"), "size": ("sizing", "base_scenario")}
DEFAULT_FILES: dict[str, str] = {"en": "report.html", "zh": "report.zh.html"}
HTML_LANG = {"zh": "zh-CN", "en": "en"}
# no plotly logo or cloud link; charts follow the page width on screen
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

# How scenario values read: by dotted path, with any region id left out (regions.fund).
MONEY_PATHS = {"rules.per_loan_cap", "rules.max_loan", "parties.guarantor.capital", "regions.fund",
               "regions.annual_topup", "regions.lending.loan_size_mean", "sharing.bands.max_loan"}
PERCENT_PATHS = {"credit.annual_pd", "credit.asset_correlation", "credit.city_correlation", "collateral.recovery_mean",
                 "collateral.recovery_sd", "collateral.disposal_cost", "sharing.fund", "sharing.bank",
                 "sharing.guarantor", "sharing.insurer", "sharing.evaluator", "sharing.tiers.province",
                 "sharing.tiers.city", "sharing.tiers.county", "rules.circuit_breaker_npl", "rules.npl_warning",
                 "rules.fund_interest_rate", "parties.guarantor.fee_rate", "parties.insurer.premium_rate",
                 "regions.lending.ip_collateral_share"}
MULTIPLE_PATHS = {"rules.leverage", "parties.insurer.loss_ratio_cap", "regions.pd_multiplier", "funds.scale"}
ZERO_IS_NONE = {"rules.per_loan_cap", "rules.max_loan", "rules.leverage", "rules.circuit_breaker_npl", "rules.npl_warning"}
CHOICE_PATHS = {"rules.compensation_basis", "rules.shortfall", "rules.leverage_scope"}
OWN_TABLES = {"sharing.bands"}  # lists of tables, shown as tables of their own
SCENARIO_PARTS = ("meta", "simulation", "credit", "collateral", "sharing", "rules", "parties")
LENDING_FIELDS = ("initial_loans", "new_loans_per_year", "loan_size_mean", "loan_size_cv", "tenor_months",
                  "ip_collateral_share")


# --------------------------------------------------------------------------- entry points


def render(where: Path | Mapping[str, bytes], lang: Lang) -> str:
    """The HTML report of a result folder (on disk, or its files' bytes) in ``lang`` ("zh" or "en")."""
    folder = Contents(where)
    lang = parse_lang(lang)
    manifest = read_manifest(folder)
    kind = manifest.get("kind", "run")
    title, intro, sections = KINDS[kind][1](folder, manifest, lang)
    return _page(lang, title, intro, sections, manifest.get("riskpool_version", "–"))


def write(folder: Path, lang: Lang, out: Path | None = None) -> Path:
    """Write the report (default ``folder/report.html``, or ``report.zh.html`` in Chinese); returns its path."""
    text = render(folder, lang)
    path = Path(out) if out is not None else Path(folder) / DEFAULT_FILES[lang]
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
    return path


def parse_lang(lang: str) -> Lang:
    if lang not in LANGS:
        raise ScenarioError([Problem("lang", lang, f"must be one of {', '.join(LANGS)}")])
    return lang  # type: ignore[return-value]


def read_manifest(folder: Contents) -> dict[str, Any]:
    """The folder's manifest, once the folder is known to be a complete result folder."""
    if not folder.has("manifest.json"):
        raise ScenarioError([Problem("folder", str(folder), "not a riskpool result folder (no manifest.json)")])
    try:
        manifest = folder.json("manifest.json")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError([Problem("folder", str(folder), f"manifest.json is not JSON ({exc})")]) from None
    kind = manifest.get("kind", "run") if isinstance(manifest, dict) else None
    needed = NEEDED_KEYS.get(kind)
    if needed is None or any(key not in manifest for key in needed):
        raise ScenarioError([Problem("folder", str(folder), "manifest.json is not a riskpool run, sweep, sensitivity or size manifest")])
    missing = [name for name in KINDS[kind][0] if not folder.has(name)]
    if missing:
        raise ScenarioError([Problem("folder", str(folder), f"not a complete riskpool {kind} folder: no {', '.join(missing)}")])
    return manifest


# --------------------------------------------------------------------------- HTML helpers


class Html(str):
    """Text that is already HTML: inserted as it is, never escaped again."""


def _inner(value: object) -> str:
    return value if isinstance(value, Html) else html.escape(str(value))


def el(tag: str, *children: object, **attrs: str) -> Html:
    """``<tag attrs>children</tag>``; text children and attribute values are escaped."""
    names = "".join(f' {k.rstrip("_").replace("_", "-")}="{html.escape(v)}"' for k, v in attrs.items() if v)
    return Html(f"<{tag}{names}>{''.join(_inner(c) for c in children)}</{tag}>")


def join(*parts: object) -> Html:
    return Html("".join(_inner(p) for p in parts))


def code(text: object) -> Html:
    return el("code", text)


def hash_code(text: object) -> Html:
    """A hash or a long command: may break anywhere, so that it never widens the page."""
    return el("code", text, class_="hash")


def note(text: object) -> Html:
    return el("p", text, class_="note")


def table(head: Sequence[object], rows: Sequence[Sequence[object]], align: str = "", cls: str = "") -> Html:
    """A table; ``align`` holds one letter per column, "r" for right-aligned figures; ``cls`` its class."""

    def cell(tag: str, i: int, value: object) -> Html:
        return el(tag, value, class_="num") if align[i : i + 1] == "r" else el(tag, value)

    return el("table",
              el("thead", el("tr", *(cell("th", i, h) for i, h in enumerate(head)))),
              el("tbody", *(el("tr", *(cell("td", i, v) for i, v in enumerate(row))) for row in rows)), class_=cls)


def figure(fig: Figure, div_id: str) -> Html:
    """A plotly figure without its library (embedded once in the head), under a fixed id."""
    return el("div", Html(fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)),
              class_="figure")


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


Section = tuple[str, str, Html]  # id, title, body


def _page(lang: Lang, title: str, intro: Html, sections: list[Section], version: str) -> str:
    toc = el("nav", el("h2", t("report.contents", lang)),
             el("ol", *(el("li", el("a", name, href=f"#{sid}")) for sid, name, _ in sections)), class_="toc")
    head = el("head", Html('<meta charset="utf-8">'),
              Html('<meta name="viewport" content="width=device-width, initial-scale=1">'),
              el("title", title), el("style", Html(CSS)),
              el("script", Html("window.PlotlyConfig = {MathJaxConfig: 'local'};")), el("script", Html(_plotly_js())))
    body = el("body", el("header", el("h1", title), intro, note(t("report.made_by", lang, version=version))), toc,
              el("main", *(el("section", el("h2", name), content, id=sid) for sid, name, content in sections)))
    return "<!DOCTYPE html>\n" + el("html", head, body, lang=HTML_LANG[lang]) + "\n"


# --------------------------------------------------------------------------- formats


def _pct(x: float) -> str:
    """A rate as given in the scenario, without rounding it away (1.5 %, 45 %)."""
    return f"{100 * x:.6g} %"


def _number(x: object) -> str:
    return f"{x:.6g}" if isinstance(x, float) else str(x)


def _times(x: float | None) -> str:
    return "–" if x is None else f"{x:,.1f}×"


def generic_path(path: str) -> str:
    """``regions.430104.fund`` -> ``regions.fund``: the path of the field, whatever the region."""
    parts = path.split(".")
    return ".".join(["regions", *parts[2:]]) if parts[0] == "regions" and len(parts) > 2 else path


def param_label(path: str, lang: Lang) -> str:
    """The name of a scenario field (``regions.fund``), or the path itself when it has none."""
    key = f"param.{path}"
    return t(key, lang) if key in LABELS else path


def axis_label(path: str, lang: Lang) -> str:
    """The name of a swept path; a region's field names the region (``Initial fund (changsha)``)."""
    label = param_label(generic_path(path), lang)
    region = path.split(".")[1] if path != generic_path(path) else None
    return label if region is None or label == generic_path(path) else _paren(label, region, lang)


def _paren(text: object, aside: object, lang: Lang) -> Html:
    return join(text, "（" if lang == "zh" else " (", aside, "）" if lang == "zh" else ")")


def value_text(path: str, value: Any, lang: Lang) -> Html:
    """A scenario value (of the field ``path``) as a reader takes it: money, per cent, multiples, choices in words."""
    if isinstance(value, list):
        return join(("; " if value and isinstance(value[0], str) else ", ").join(_number(v) for v in value) or "–")
    if value is None:
        return join("–")
    if isinstance(value, bool):
        return join(t("report.yes" if value else "report.no", lang))
    if path in ZERO_IS_NONE and value == 0:
        return join(t("report.off", lang))
    if path in CHOICE_PATHS:
        return _paren(code(value), t(f"choice.{path.split('.')[-1]}.{value}", lang), lang)
    if path in MONEY_PATHS:
        return join(money(value, lang))
    if path in PERCENT_PATHS:
        return join(_pct(value))
    if path in MULTIPLE_PATHS:
        return join(f"{value:.6g}×")
    return join(_number(value))


# --------------------------------------------------------------------------- a run


def _run_report(folder: Contents, manifest: dict[str, Any], lang: Lang) -> tuple[str, Html, list[Section]]:
    summary = Summary.from_json(folder.json("summary.json"))
    months = folder.table("months.parquet").to_pandas()
    scenario = manifest["scenario"]
    intro = join(el("p", t("report.run_line", lang, months=summary.horizon_months, n=summary.paths,
                          seed=summary.seed, finished=manifest.get("finished", "–"))),
                 el("p", el("strong", scenario["meta"]["name"])), _illustrative(scenario, lang),
                 el("p", _headline(summary, lang), class_="headline"))
    sections: list[Section] = [
        ("sufficiency", t("report.sec_sufficiency", lang), _sufficiency(summary, lang)),
        ("capital", t("report.sec_capital", lang), _capital(summary, lang)),
        ("balances", t("report.sec_balances", lang),
         join(figure(figures.fan_chart(months, ["fund", *funded_tiers(summary)], summary, lang), "fan-chart"),
              note(t("report.balances_note", lang)))),
        ("survival", t("report.sec_survival", lang), figure(figures.survival_chart(summary, lang), "survival-chart")),
        ("weakest", t("report.sec_weakest", lang), _weakest(summary, lang)),
        ("parties", t("report.sec_parties", lang), _parties(summary, lang)),
        ("lending", t("report.sec_lending", lang), _lending(summary, lang)),
        ("scenario", t("report.sec_scenario", lang), _scenario(scenario, lang)),
        ("methodology", t("report.sec_method", lang), _methodology(scenario, summary.paths, lang)),
        ("audit", t("report.sec_audit", lang), _run_audit(folder, manifest, summary, lang)),
    ]
    return t("report.title", lang), intro, sections


def _illustrative(scenario: dict[str, Any], lang: Lang) -> Html:
    return el("p", t("report.illustrative", lang), class_="warning") if scenario["meta"].get("illustrative") else join()


def _headline(summary: Summary, lang: Lang) -> str:
    fund = summary.fund
    return t("report.headline", lang, months=summary.horizon_months, n=summary.paths,
             suff=percent(fund.sufficiency, fund.p_shortfall_se, digits=2))


def _groups(summary: Summary, lang: Lang) -> list[tuple[str, Group]]:
    """The whole fund, then each tier that has funds, named for the page."""
    return [(t("fund", lang) if key == "fund" else t("report.tier_row", lang, tier=t(key, lang), n=v.nodes), v)
            for key, v in groups(summary)]


def _sufficiency(summary: Summary, lang: Lang) -> Html:
    rows = [[name, percent(v.sufficiency, digits=2), percent(v.p_shortfall, v.p_shortfall_se, digits=2),
             month_label(v.first_shortfall_month.p50, lang), money(v.unpaid_mean, lang)]
            for name, v in _groups(summary, lang)]
    head = [t("report.scope", lang), t("report.sufficient", lang), f"{t('p_shortfall', lang)} {t('report.pm_se', lang)}",
            t("first_shortfall", lang), t("unpaid_mean", lang)]
    bound = percent(min(1.0, 3 / summary.paths), digits=2)
    return join(table(head, rows, "lrrrr", cls="groups"), note(t("report.se_note", lang, n=summary.paths, bound=bound)))


def _capital(summary: Summary, lang: Lang) -> Html:
    def cover(v: Group) -> str:
        need = v.required_capital.q99
        return _times(v.capital / need) if need else "–"

    rows = [[name, money(v.capital, lang), money(v.required_capital.q95, lang),
             money(v.required_capital.q99, lang), cover(v)] for name, v in _groups(summary, lang)]
    head = [t("report.scope", lang), t("capital", lang), t("required_q95", lang), t("required_q99", lang),
            t("report.cover_99", lang)]
    return join(table(head, rows, "lrrrr", cls="groups"), note(t("report.capital_note", lang)))


def _weakest(summary: Summary, lang: Lang) -> Html:
    rows = [[code(node), v.name, t(v.tier, lang), percent(v.p_shortfall, v.p_shortfall_se, digits=2),
             month_label(v.first_shortfall_month.p50, lang), money(v.capital, lang),
             money(v.required_capital.q95, lang), money(v.payout_net.mean, lang)]
            for node, v in weakest_nodes(summary)]
    head = [t("node", lang), t("name", lang), t("tier", lang), f"{t('p_shortfall', lang)} {t('report.pm_se', lang)}",
            t("first_shortfall", lang), t("capital", lang), t("required_q95", lang), t("payout_mean", lang)]
    return join(table(head, rows, "lllrrrrr"), note(t("report.weakest_note", lang)))


def _parties(summary: Summary, lang: Lang) -> Html:
    rows = [[t("party_fund" if p == "fund" else p, lang), money(v.loss_mean, lang), money(v.var99, lang),
             money(v.es99, lang)] for p, v in parties(summary)]
    head = [t("party", lang), t("loss_mean", lang), t("var99", lang), t("es99", lang)]
    insurer, guarantor = summary.parties["insurer"], summary.parties["guarantor"]
    extra = [(t("report.premiums_mean", lang), money(insurer.premiums_mean, lang)),
             (t("report.loss_ratio", lang), percent(insurer.loss_ratio)),
             (t("report.fees_mean", lang), money(guarantor.fees_mean, lang)),
             (t("report.p_exhausted", lang), percent(guarantor.p_exhausted, digits=2))]
    return join(figure(figures.party_chart(summary, lang), "party-chart"), table(head, rows, "lrrr"),
                table([t("report.figure", lang), t("report.value", lang)], extra, "lr"),
                note(t("report.parties_note", lang)))


def _lending(summary: Summary, lang: Lang) -> Html:
    lend = summary.lending
    rows = [
        (t("report.originated_mean", lang), money(lend.originated_mean, lang)),
        (t("report.loans_originated_mean", lang), f"{lend.loans_originated_mean:,.0f}"),
        (t("report.defaulted_ead_mean", lang), money(lend.defaulted_ead_mean, lang)),
        (t("report.defaults_mean", lang), f"{lend.defaults_mean:,.1f}"),
        (t("report.recovered_mean", lang), money(lend.recovered_mean, lang)),
        (t("report.initial_fund_capital", lang), money(lend.initial_fund_capital, lang)),
        (t("multiplier", lang), _times(lend.multiplier_mean)),
        (t("report.leverage_peak", lang), _times(lend.leverage_peak_mean)),
    ]
    return join(table([t("report.figure", lang), t("report.value", lang)], rows, "lr"),
                note(t("report.lending_note", lang)))


def _run_audit(folder: Contents, manifest: dict[str, Any], summary: Summary, lang: Lang) -> Html:
    rows = [(t("report.a_seed", lang), manifest["seed"]), (t("report.a_paths", lang), f"{manifest['paths']:,}"),
            *_provenance(folder, manifest, lang), (t("report.a_scenario_sha", lang), hash_code(manifest.get("scenario_sha256", "–"))),
            *_sampling(folder, summary, lang)]
    return join(_audit_tables(folder, manifest, rows, lang), _verify_block(manifest, "report.a_verify_text", lang))


def _out_dir(command: list[str]) -> str:
    """The folder a command wrote to, as it was given; DIR when the command does not say."""
    for i, arg in enumerate(command):
        if arg == "--out" and i + 1 < len(command):
            return command[i + 1]
        if arg.startswith("--out="):
            return arg.removeprefix("--out=")
    return "DIR"


def _sampling(folder: Contents, summary: Summary, lang: Lang) -> list[tuple[str, object]]:
    """How paths were sampled, when the run was weighted (importance sampling): method, shift,
    effective sample sizes (from the weights in paths.parquet when the summary has none)."""
    sampling = summary.sampling
    ess = None if sampling is None else sampling.ess
    if ess is None and "weight" in folder.schema("paths.parquet").names:
        ess = effective_sample_size(folder.table("paths.parquet", ["weight"]).column("weight").to_numpy())
    rows: list[tuple[str, object]] = []
    if sampling is not None:
        rows += [(t("report.a_sampling", lang), code(sampling.method)),
                 (t("report.a_shift", lang), ", ".join(f"{mu:+.2f}" for mu in sampling.shift))]
    if ess is not None:
        rows.append((t("report.a_ess", lang), f"{ess:,.1f} / {summary.paths:,}"))
    if sampling is not None:
        rows.append((t("report.a_ess_short", lang), f"{sampling.ess_shortfall:,.1f}"))
    return rows


def _provenance(folder: Contents, manifest: dict[str, Any], lang: Lang) -> list[tuple[str, object]]:
    """What made the result folder, when and where: the rows a run and a sweep share."""
    rng = manifest.get("randomness", {})
    return [
        (t("report.a_version", lang), manifest.get("riskpool_version", "–")),
        (t("report.a_commit", lang), hash_code(manifest.get("git_commit") or t("report.not_recorded", lang))),
        *([(t("report.a_code_sha", lang), hash_code(manifest["code_sha256"]))] if "code_sha256" in manifest else []),
        *([(t("report.a_dirty", lang), t("report.yes" if manifest["git_dirty"] else "report.no", lang))]
          if manifest.get("git_dirty") is not None else []),
        (t("report.a_command", lang), hash_code(shlex.join(manifest.get("command") or []))),
        (t("report.a_started", lang), manifest.get("started", "–")),
        (t("report.a_finished", lang), manifest.get("finished", "–")),
        (t("report.a_platform", lang), manifest.get("platform", "–")),
        (t("report.a_quantile", lang), code(manifest.get("quantile_method", "–"))),
        (t("report.a_rng", lang), t("report.a_rng_value", lang, generator=rng.get("bit_generator", "–"),
                                    block=rng.get("block_paths", "–"), streams=", ".join(rng.get("streams", [])))),
        (t("report.a_manifest_sha", lang), hash_code(folder.sha256("manifest.json"))),
    ]


def _audit_tables(folder: Contents, manifest: dict[str, Any], rows: list[tuple[str, object]], lang: Lang) -> Html:
    versions = [[name, code(v)] for name, v in manifest.get("versions", {}).items()]
    files = [[code(name), hash_code(digest)] for name, digest in manifest.get("files", {}).items()]
    return join(el("h3", t("report.a_run", lang)), table([t("report.item", lang), t("report.value", lang)], rows, cls="audit"),
                el("h3", t("report.a_versions", lang)), table([t("report.a_package", lang), t("report.a_version_col", lang)], versions),
                el("h3", t("report.a_files", lang)), table([t("report.a_file", lang), "SHA-256"], files))


# --------------------------------------------------------------------------- a sweep


def _sweep_report(folder: Contents, manifest: dict[str, Any], lang: Lang) -> tuple[str, Html, list[Section]]:
    spec, base = manifest["sweep"], manifest["base_scenario"]
    points = folder.table(POINTS_FILE)
    axes = [a["path"] for a in spec["axes"]]
    intro = join(el("p", t("report.sweep_line", lang, points=spec["points"], n=spec["paths"], seed=spec["seed"],
                          finished=manifest.get("finished", "–"))),
                 el("p", el("strong", base["meta"]["name"])), _illustrative(base, lang))
    sections: list[Section] = [
        ("sweep", t("report.sec_sweep", lang), _sweep_spec(spec, lang)),
        ("heatmap", t("report.sec_heatmap", lang), _heatmap(points, axes, lang)),
        ("points", t("report.sec_points", lang), _points(points, axes, lang)),
        ("scenario", t("report.sec_scenario", lang), _scenario(base, lang)),
        ("methodology", t("report.sec_method", lang), _methodology(base, spec["paths"], lang)),
        ("audit", t("report.sec_audit", lang),
         _batch_audit(folder, manifest, spec, spec.get("base_sha256", "–"), "report.a_sweep_text", lang)),
    ]
    return t("report.sweep_title", lang), intro, sections


def _sweep_spec(spec: dict[str, Any], lang: Lang) -> Html:
    rows = [[axis_label(a["path"], lang), code(a["path"]),
             Html(", ".join(value_text(generic_path(a["path"]), v, lang) for v in a["values"]))] for a in spec["axes"]]
    return join(table([t("report.axis", lang), t("report.key", lang), t("report.values", lang)], rows),
                table([t("report.figure", lang), t("report.value", lang)],
                      [[t("report.points", lang), f"{spec['points']:,}"], [t("report.a_paths", lang), f"{spec['paths']:,}"],
                       [t("report.a_seed", lang), spec["seed"]]], "lr"),
                note(t("report.sweep_note", lang)))


def _heatmap(points: Any, axes: list[str], lang: Lang) -> Html:
    pair = heatmap_axes(points, axes)
    if pair is None:
        return note(t("report.no_heatmap", lang))
    x, y = pair
    xs, ys, z = heatmap_grid(points, x, y)
    fig = figures.heatmap(xs, ys, z, axis_label(x, lang), axis_label(y, lang), lang)
    return join(figure(fig, "heatmap-chart"), note(t("report.heatmap_note", lang)))


def _points(points: Any, axes: list[str], lang: Lang) -> Html:
    tiers = [f"p_shortfall_{k}" for k in TIERS if f"p_shortfall_{k}" in points.column_names]
    has_problem = any(points.column("problem").to_pylist()) if "problem" in points.column_names else False
    head = [t("report.point", lang), *(axis_label(a, lang) for a in axes), f"{t('p_shortfall', lang)} {t('report.pm_se', lang)}",
            t("payout_mean", lang), t("required_q95", lang), t("unpaid_mean", lang),
            *(t("report.p_short_tier", lang, tier=t(k.removeprefix("p_shortfall_"), lang)) for k in tiers)]
    head += [t("report.problem", lang)] if has_problem else []
    rows = []
    for p in points.to_pylist():
        row = [p["point"], *(value_text(generic_path(a), p[a], lang) for a in axes), percent(p["p_shortfall"], p["p_shortfall_se"], digits=2),
               money(p["payout_net_mean"], lang), money(p["required_capital_q95"], lang), money(p["unpaid_mean"], lang),
               *(percent(p[k], digits=2) for k in tiers)]
        rows.append(row + ([p["problem"] or ""] if has_problem else []))
    return table(head, rows, "r" * (len(head) - 1) + ("l" if has_problem else "r"))


def _verify_block(manifest: dict[str, Any], text: str, lang: Lang) -> Html:
    """How to verify the folder: the command, what it checks, and the advice to publish the manifest's hash."""
    where = _out_dir(manifest.get("command") or [])
    verify = el("pre", f"riskpool verify {where}/manifest.json", class_="cmd")
    return join(el("h3", t("report.a_verify", lang)), el("p", t(text, lang, dir=where)), verify,
                note(t("report.a_publish", lang)))


# --------------------------------------------------------------------------- a sensitivity study


def _sensitivity_report(folder: Contents, manifest: dict[str, Any], lang: Lang) -> tuple[str, Html, list[Section]]:
    asked, base = manifest["sensitivity"], manifest["base_scenario"]
    indices = folder.table(INDICES_FILE).to_pydict()
    points = folder.table(POINTS_FILE)
    axes = [r["path"] for r in asked["ranges"]]
    intro = join(el("p", t("report.sens_line", lang, params=len(axes), samples=asked["samples"], points=points.num_rows,
                          n=asked["paths"], seed=asked["seed"], finished=manifest.get("finished", "–"))),
                 el("p", el("strong", base["meta"]["name"])), _illustrative(base, lang))
    charts = [figure(figures.sobol_chart(indices, output, lang), f"sobol-{output}") for output in dict.fromkeys(indices["output"])]
    sections: list[Section] = [
        ("design", t("report.sec_design", lang), _ranges(asked, lang)),
        ("indices", t("report.sec_indices", lang), join(*charts, _indices(indices, lang), note(t("report.indices_note", lang)))),
        ("points", t("report.sec_points", lang), _points(points, axes, lang)),
        ("scenario", t("report.sec_scenario", lang), _scenario(base, lang)),
        ("methodology", t("report.sec_method", lang), _methodology(base, asked["paths"], lang)),
        ("audit", t("report.sec_audit", lang), _batch_audit(folder, manifest, asked, manifest["sweep"]["base_sha256"], "report.a_sens_text", lang)),
    ]
    return t("report.sens_title", lang), intro, sections


def _ranges(asked: dict[str, Any], lang: Lang) -> Html:
    rows = [[axis_label(r["path"], lang), code(r["path"]), value_text(generic_path(r["path"]), r["low"], lang),
             value_text(generic_path(r["path"]), r["high"], lang)] for r in asked["ranges"]]
    return join(table([t("report.axis", lang), t("report.key", lang), t("report.low", lang), t("report.high", lang)], rows, "llrr"),
                note(t("report.design_note", lang)))


def _indices(indices: dict[str, list], lang: Lang) -> Html:
    def index(x: float) -> str:
        return f"{x:.3f}" if np.isfinite(x) else "–"

    rows = [[t(figures.SOBOL_OUTPUTS[o], lang), axis_label(p, lang), index(s1), index(c1), index(st), index(ct)]
            for o, p, s1, c1, st, ct in zip(indices["output"], indices["parameter"], indices["S1"], indices["S1_conf"],
                                            indices["ST"], indices["ST_conf"])]
    head = [t("report.output", lang), t("report.axis", lang), t("report.s1", lang), "± 95 %", t("report.st", lang), "± 95 %"]
    return table(head, rows, "llrrrr")


def _batch_audit(folder: Contents, manifest: dict[str, Any], asked: dict[str, Any], base_sha: str, text: str,
                 lang: Lang) -> Html:
    """The audit section of a sweep, sensitivity study or sizing answer (many runs on one seed)."""
    rows = [(t("report.a_seed", lang), asked["seed"]), (t("report.a_paths", lang), f"{asked['paths']:,}"),
            *_provenance(folder, manifest, lang), (t("report.a_base_sha", lang), hash_code(base_sha))]
    return join(_audit_tables(folder, manifest, rows, lang), _verify_block(manifest, text, lang))


# --------------------------------------------------------------------------- a sizing answer


def _size_report(folder: Contents, manifest: dict[str, Any], lang: Lang) -> tuple[str, Html, list[Section]]:
    asked, base = manifest["sizing"], manifest["base_scenario"]
    answer = folder.json(ANSWER_FILE)
    intro = join(el("p", t("report.size_line", lang, target=percent(asked["target"]), n=asked["paths"], seed=asked["seed"],
                          evaluations=answer["evaluations"], finished=manifest.get("finished", "–"))),
                 el("p", el("strong", base["meta"]["name"])), _illustrative(base, lang))
    sections: list[Section] = [
        ("answer", t("report.sec_answer", lang), _answer(asked, answer, lang)),
        ("scenario", t("report.sec_scenario", lang), _scenario(base, lang)),
        ("methodology", t("report.sec_method", lang), _methodology(base, asked["paths"], lang)),
        ("audit", t("report.sec_audit", lang), _batch_audit(folder, manifest, asked, asked["base_sha256"], "report.a_size_text", lang)),
    ]
    return t("report.size_title", lang), intro, sections


def _answer(asked: dict[str, Any], answer: dict[str, Any], lang: Lang) -> Html:
    sized = t("fund", lang) if asked.get("node") is None and asked.get("tier") is None else \
        t(asked["tier"], lang) if asked.get("tier") else code(asked["node"])
    rows: list[list[object]] = [[t("report.s_what", lang), sized], [t("report.s_target", lang), percent(asked["target"])],
                                [t("report.s_capital_now", lang), money(answer["capital_now"], lang)]]
    if answer["scale"] is None:
        body = [note(t("report.s_unreached", lang, max=f"{asked.get('max_scale', 1024):.0f}"))]
    else:
        high = t("report.beyond", lang) if answer["scale_high"] is None else f"{answer['scale_high']:.3f}×"
        rows += [[t("report.s_scale", lang), f"{answer['scale']:.3f}×"],
                 [t("report.s_interval", lang), f"{answer['scale_low']:.3f}× – {high}"],
                 [t("report.s_capital_needed", lang), money(answer["capital_needed"], lang)],
                 [t("report.s_sufficiency", lang), percent(answer["sufficiency"], answer["sufficiency_se"], digits=2)]]
        body = []
    rows.append([t("report.s_leverage", lang), t("report.s_kept" if asked["keep_leverage"] else "report.s_lifted", lang)])
    return join(table([t("report.figure", lang), t("report.value", lang)], rows, "lr"), *body, note(t("report.size_note", lang)))


# --------------------------------------------------------------------------- the scenario


def _scenario(scenario: dict[str, Any], lang: Lang) -> Html:
    """The scenario as simulated (the manifest's canonical form), one table per part, then the regions."""
    parts = []
    for part in SCENARIO_PARTS:
        model = _submodel(Scenario, part)
        rows = _param_rows(scenario.get(part, {}), model, part, lang)
        parts.append(join(el("h3", t(f"report.scn_{part}", lang)),
                          table([t("report.parameter", lang), t("report.key", lang), t("report.value", lang)], rows,
                                cls="params")))
        if part == "sharing":
            parts.append(_bands(scenario["sharing"].get("bands", []), lang))
    return join(*parts, el("h3", t("report.scn_regions", lang)), _regions(scenario["regions"], lang))


def _submodel(model: type[BaseModel] | None, name: str) -> type[BaseModel] | None:
    field = model.model_fields.get(name) if model is not None else None
    ann = field.annotation if field is not None else None
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def _param_rows(data: dict[str, Any], model: type[BaseModel] | None, prefix: str, lang: Lang) -> list[list[object]]:
    """One row per scalar or list of scalars, nested tables flattened (sharing.tiers.city)."""
    rows: list[list[object]] = []
    for key, value in data.items():
        path = f"{prefix}.{key}"
        if isinstance(value, dict):
            rows += _param_rows(value, _submodel(model, key), path, lang)
        elif path not in OWN_TABLES:
            rows.append([_param_name(path, model, key, lang), code(path), value_text(path, value, lang)])
    return rows


def _param_name(path: str, model: type[BaseModel] | None, key: str, lang: Lang) -> Html:
    """The parameter's name, with the scenario model's description of it where it has one."""
    field = model.model_fields.get(key) if model is not None else None
    described = field is not None and field.description
    text = (ZH_DESCRIPTIONS.get(path, "") if lang == "zh" else field.description) if described else ""
    return join(param_label(path, lang), el("span", text, class_="desc") if text else "")


def _bands(bands: list[dict[str, Any]], lang: Lang) -> Html:
    if not bands:
        return note(t("report.no_bands", lang))
    shares = ("fund", "bank", "guarantor", "insurer", "evaluator")
    rows = [[money(b["max_loan"], lang), *(_pct(b[s]) for s in shares)] for b in sorted(bands, key=lambda b: b["max_loan"])]
    head = [param_label("sharing.bands.max_loan", lang), *(t("party_fund" if s == "fund" else s, lang) for s in shares)]
    return join(el("h3", t("report.scn_bands", lang)), table(head, rows, "rrrrrr"))


def _regions(regions: list[dict[str, Any]], lang: Lang) -> Html:
    """Every region with its fund, top-up and lending table; a total row; counts in a note."""
    cols = ["fund", "annual_topup", "pd_multiplier", *(f"lending.{f}" for f in LENDING_FIELDS)]

    def cell(r: dict[str, Any], col: str) -> object:
        value = (r.get("lending") or {}).get(col.removeprefix("lending.")) if col.startswith("lending.") else r.get(col)
        if col == "fund" and value is None:
            return t("no_fund", lang)
        if col == "annual_topup" and r.get("fund") is None:
            return ""
        return "" if value is None else value_text(f"regions.{col}", value, lang)

    rows = [[code(r["id"]), r.get("name", ""), t(r["tier"], lang), r.get("parent") or "", *(cell(r, c) for c in cols)]
            for r in regions]
    lending = [r["lending"] for r in regions if r.get("lending")]
    totals = {"fund": money(sum(r.get("fund") or 0 for r in regions), lang),
              "annual_topup": money(sum(r.get("annual_topup") or 0 for r in regions), lang),
              "lending.initial_loans": f"{sum(x['initial_loans'] for x in lending):,}",
              "lending.new_loans_per_year": f"{sum(x['new_loans_per_year'] for x in lending):,.6g}"}
    rows.append([el("strong", t("report.total", lang)), "", "", "", *(totals.get(c, "") for c in cols)])
    head = [param_label("regions.id", lang), t("name", lang), t("tier", lang), param_label("regions.parent", lang),
            *(param_label(f"regions.{c}", lang) for c in cols)]
    funded = sum(r.get("fund") is not None for r in regions)
    return join(note(t("report.regions_note", lang, n=len(regions), funded=funded, lending=len(lending))),
                el("div", table(head, rows, "llll" + "r" * len(cols)), class_="wide"))


# --------------------------------------------------------------------------- methodology


def _methodology(scenario: dict[str, Any], paths: int, lang: Lang) -> Html:
    values, sources = _rule_values(scenario, lang)
    months = 12 * scenario["simulation"]["horizon_years"]
    brief = [el("p", text[lang].format(paths=paths, months=months)) for text in MODEL_BRIEF]
    order = el("ol", *(el("li", step[lang]) for step in MONTH_ORDER))
    rows = []
    for rule in RULES:
        names = [f for _, f, _, _ in string.Formatter().parse(rule[lang]) if f]
        text = Html(rule[lang].format(**{n: _inner(values[n]) for n in names}))
        keys = dict.fromkeys(sources[n] for n in names)  # in order of appearance, once each
        rows.append([rule["title_" + lang], join(text, el("span", Html(", ".join(code(k) for k in keys)), class_="desc"))])
    return join(el("h3", t("report.method_model", lang)), *brief, el("h3", t("report.method_order", lang)), order,
                el("h3", t("report.method_rules", lang)),
                table([t("report.rule", lang), t("report.note", lang)], rows, cls="rules"))


def _rule_values(scenario: dict[str, Any], lang: Lang) -> tuple[dict[str, object], dict[str, str]]:
    """Placeholder values of the rule texts (formatted) and the scenario key behind each."""
    values: dict[str, object] = {}
    sources: dict[str, str] = {}

    def add(data: dict[str, Any], prefix: str) -> None:
        for key, value in data.items():
            path = f"{prefix}.{key}"
            if isinstance(value, dict):
                add(value, path)
            elif path not in OWN_TABLES:
                values[path.replace(".", "_")] = value_text(path, value, lang)
                sources[path.replace(".", "_")] = path

    for part in SCENARIO_PARTS:
        add(scenario.get(part, {}), part)
    regions = scenario["regions"]
    lending = [r["lending"] for r in regions if r.get("lending")]
    derived = {
        "months": (12 * scenario["simulation"]["horizon_years"], "simulation.horizon_years"),
        "lending_counties": (len(lending), "regions.lending"),
        "initial_loans": (f"{sum(x['initial_loans'] for x in lending):,}", "regions.lending.initial_loans"),
        "new_loans": (f"{sum(x['new_loans_per_year'] for x in lending):,.0f}", "regions.lending.new_loans_per_year"),
        "capital": (money(sum(r.get("fund") or 0 for r in regions), lang), "regions.fund"),
        "topups": (money(sum(r.get("annual_topup") or 0 for r in regions), lang), "regions.annual_topup"),
        "bands": (len(scenario["sharing"].get("bands", [])) or t("none", lang), "sharing.bands"),
    }
    for name, (value, source) in derived.items():
        values[name], sources[name] = value, source
    return values, sources


# --------------------------------------------------------------------------- prose and style

# Chinese for the scenario model's field descriptions (riskpool/scenario.py), which are English.
ZH_DESCRIPTIONS = {
    "simulation.horizon_years": "模拟年数；月数 T = 12 × 年数。",
    "simulation.paths": "蒙特卡洛模拟路径数。",
    "simulation.seed": "numpy SeedSequence 的根种子。",
    "credit.annual_pd": "单笔贷款的年违约概率。",
    "credit.stress": "各年违约概率的乘数；个数等于模拟年数；默认均为 1。",
    "collateral.recovery_mean": "回收金额占违约敞口的平均比例（Beta 分布）。",
}

MODEL_BRIEF = (
    {"zh": "{paths:,} 条模拟路径中的每一条，都是 {months} 个月的一种可能历史。贷款在各县发放。贷款违约后，损失由补偿资金池、银行以及情景中设有的担保机构、"
           "保险机构和评估机构分担；资金池承担的部分再在省、市、县三级资金之间分配。质押的专利或商标随后处置，所得按各方已付比例返还。",
     "en": "Each of the {paths:,} simulated paths is one possible history of {months} months. Loans are made in counties. "
           "When a loan defaults, its loss is shared between the fund, the bank and, where the scenario has them, a "
           "guarantor, an insurer and the evaluator; the fund's part is split between the province, city and county "
           "funds. The pledged patents or trademarks are sold later, and the proceeds are shared back in proportion "
           "to what each party paid."},
    {"zh": "资金余额不足以支付应付部分时，即出现资金缺口。充足率是期内该范围内任何资金都未出现缺口的路径所占比例，其标准误为 √(p(1 − p)/n)。"
           "所需资金为：在每条路径上，资金累计应付额超过累计流入额（利息、补充资金、追偿返还）的最大差额，再取其在各路径间的 95% 与 99% 分位数。",
     "en": "A fund runs short (has a shortfall) when its balance cannot pay a part it is asked to pay. Sufficiency is "
           "the share of paths in which no fund of the group ever runs short within the horizon; its standard error "
           "is √(p(1 − p)/n). Required capital is, per path, the largest excess of what the fund was asked to pay over "
           "what came in (interest, top-ups, clawbacks), taken at its 95 % and 99 % quantiles over paths."},
    {"zh": "所有随机抽样只由随机种子决定，按每块 250 条路径在应用规则之前完成；规则本身不含随机性。因此，相同的情景、种子和路径数在任意进程数下都给出完全相同的结果，"
           "并可用 riskpool verify 根据 manifest.json 重新运行复核（见审计信息）。完整的模型说明见 riskpool 的 docs/model.md。",
     "en": "Every random draw comes from the seed alone, in blocks of 250 paths, before any rule is applied; the rules "
           "themselves are deterministic. The same scenario, seed and number of paths therefore give identical "
           "results on any number of processes, and riskpool verify can rerun a run from its manifest.json (see the "
           "audit section). The full specification is riskpool's docs/model.md."},
)

MONTH_ORDER = (
    {"zh": "资金流入：各资金按月初余额计息，并于第 12、24……月收到年度补充资金；担保费与保费按在贷余额计收。",
     "en": "Inflows: every fund earns interest on its opening balance and, in months 12, 24, …, its annual top-up; "
           "guarantee fees and insurance premiums are earned on the outstanding loans."},
    {"zh": "处置回收：本月完成处置的质押物回收入账，并按各方已付比例返还。",
     "en": "Recoveries: collateral sold this month is booked and shared back in proportion to what each party paid."},
    {"zh": "排队补偿：各资金按先后顺序，用余额支付排队中的补偿。",
     "en": "Queued claims: each fund pays its queue, oldest first, from its balance."},
    {"zh": "违约：本月违约的贷款退出正常贷款，并确定其申请补偿与处置的月份。",
     "en": "Defaults: loans defaulting this month leave the performing book; their claim and sale months are fixed."},
    {"zh": "新增补偿：本月到期的补偿申请在各方之间分担，并在各级资金之间分配；不能足额支付的资金即出现缺口。",
     "en": "New claims: claims due this month are shared between the parties and split between the fund tiers; a "
           "fund that cannot pay in full has a shortfall."},
    {"zh": "到期：到期贷款归还并退出。", "en": "Maturities: loans reaching their tenor are repaid and leave the book."},
    {"zh": "新增放款：先检查熔断，再在单笔金额上限与放大倍数上限内发放新贷款。",
     "en": "Originations: the circuit breaker is checked, then new loans are made within the size limit and the "
           "leverage cap."},
    {"zh": "月末：记录各资金余额，以及计算所需资金所用的缺口。",
     "en": "Month end: each fund's balance is recorded, with the gap behind the required capital."},
)

# The rules of docs/model.md sections 3-5, with the scenario's values in the placeholders
# (dotted keys with "_" for ".", or the derived names of _rule_values).
RULES = (
    {"title_zh": "违约", "title_en": "Defaults",
     "zh": "每笔贷款的年违约概率为 {credit_annual_pd}，再乘以所在县的违约率系数和当年的压力系数（{credit_stress}）。年度系统性因子（资产相关系数 "
           "{credit_asset_correlation}）和城市因子（相关系数 {credit_city_correlation}）使违约在不利年份集中发生（Vasicek 单因子模型）。",
     "en": "Each loan defaults with the annual probability {credit_annual_pd}, times its county's PD multiplier and the "
           "year's stress factor ({credit_stress}). A yearly economy-wide factor (asset correlation "
           "{credit_asset_correlation}) and a city factor (correlation {credit_city_correlation}) make defaults "
           "cluster in bad years (Vasicek one-factor model)."},
    {"title_zh": "处置回收", "title_en": "Recoveries",
     "zh": "质押的知识产权在违约后平均 {collateral_disposal_months_mean} 个月处置（标准差 {collateral_disposal_months_sd}，至少 1 个月）。回收金额占贷款的比例服从 "
           "Beta 分布，均值 {collateral_recovery_mean}，标准差 {collateral_recovery_sd}，并扣除 {collateral_disposal_cost} 的处置费用；"
           "经济周期敏感度 {collateral_recovery_factor_loading} 使回收率在不利年份下降。",
     "en": "The pledged IP is sold {collateral_disposal_months_mean} months after default on average (standard "
           "deviation {collateral_disposal_months_sd}, at least one month). It fetches a Beta-distributed share of the "
           "loan with mean {collateral_recovery_mean} and standard deviation {collateral_recovery_sd}, less disposal "
           "costs of {collateral_disposal_cost}; a downturn loading of {collateral_recovery_factor_loading} lowers "
           "recoveries in bad years."},
    {"title_zh": "放款", "title_en": "Lending",
     "zh": "共有 {lending_counties} 个县放款：期初在贷 {initial_loans} 笔，每年随机（泊松分布）新增约 {new_loans} 笔贷款申请；贷款金额服从对数正态分布，期限按各县设定。",
     "en": "{lending_counties} counties lend: {initial_loans} loans are on the book at the start, and about {new_loans} "
           "new loan applications a year arrive at random (Poisson), with lognormal sizes and each county's tenor."},
    {"title_zh": "放款限制", "title_en": "Origination limits",
     "zh": "新贷款在下列情况下不予发放：金额超过 {rules_max_loan}；发放后在贷余额将超过资金余额的 {rules_leverage}（{rules_leverage_scope}）；"
           "或所在县处于熔断期——县不良率超过 {rules_circuit_breaker_npl} 时暂停新增放款 {rules_circuit_breaker_months} 个月。"
           "不良率超过预警线 {rules_npl_warning} 的月份另行统计。被拒贷款直接放弃，不顺延。",
     "en": "A new loan is refused if it is larger than {rules_max_loan}, if it would take outstanding loans above "
           "{rules_leverage} the funds' balance ({rules_leverage_scope}), or if its county is stopped: a county whose "
           "non-performing ratio exceeds {rules_circuit_breaker_npl} stops new lending for "
           "{rules_circuit_breaker_months} months. Months above the warning ratio {rules_npl_warning} are counted. "
           "Refused loans are dropped, not deferred."},
    {"title_zh": "补偿申请", "title_en": "Claims",
     "zh": "违约后 {rules_claim_lag_months} 个月申请补偿，补偿基数为 {rules_compensation_basis}。若届时质押物已处置，回收款先归银行，按净损失申请补偿。",
     "en": "A claim falls due {rules_claim_lag_months} months after default, on the basis "
           "{rules_compensation_basis}. If the collateral is sold by then, the recovery goes to the bank first and the "
           "claim is on the net loss."},
    {"title_zh": "风险分担", "title_en": "Loss sharing",
     "zh": "可补偿损失（按贷款的知识产权质押占比计）由补偿资金池承担 {sharing_fund}，银行 {sharing_bank}，担保机构 {sharing_guarantor}，"
           "保险机构 {sharing_insurer}，评估机构 {sharing_evaluator}；按贷款金额分档：{bands}。资金池部分每笔以 {rules_per_loan_cap} 为上限，"
           "并按省级 {sharing_tiers_province}、市级 {sharing_tiers_city}、县级 {sharing_tiers_county} 分配。"
           "未设本级资金的地区，其应付部分转由最近的上级资金承担；上级均无资金时由银行承担。",
     "en": "Of the eligible loss (the loan's IP collateral share of it), the fund bears {sharing_fund}, the bank "
           "{sharing_bank}, the guarantor {sharing_guarantor}, the insurer {sharing_insurer} and the evaluator "
           "{sharing_evaluator}; sharing bands by loan size: {bands}. The fund's part is capped at "
           "{rules_per_loan_cap} a loan and split province {sharing_tiers_province}, city {sharing_tiers_city}, "
           "county {sharing_tiers_county}. A region without a fund passes its part to the nearest fund above it, or "
           "to the bank if there is none."},
    {"title_zh": "资金缺口", "title_en": "Shortfalls",
     "zh": "资金余额不足以足额支付时，该资金当月出现缺口；不足部分的处理方式为 {rules_shortfall}。资金余额不会为负。",
     "en": "A fund that cannot pay a part in full from its balance has a shortfall that month; the rest is handled by "
           "the policy {rules_shortfall}. Balances never go below zero."},
    {"title_zh": "担保与保险", "title_en": "Guarantor and insurer",
     "zh": "担保机构以其资本 {parties_guarantor_capital} 加上已收担保费（按被担保贷款每年 {parties_guarantor_fee_rate}）为限代偿；保险机构以已收保费"
           "（按承保贷款每年 {parties_insurer_premium_rate}）的 {parties_insurer_loss_ratio_cap} 为限赔付。二者不能支付的部分由银行承担。",
     "en": "The guarantor pays up to its capital {parties_guarantor_capital} plus the fees it has earned "
           "({parties_guarantor_fee_rate} a year on guaranteed loans); the insurer pays up to "
           "{parties_insurer_loss_ratio_cap} the premiums it has earned ({parties_insurer_premium_rate} a year on "
           "insured loans). What either cannot pay falls to the bank."},
    {"title_zh": "追偿返还", "title_en": "Clawback",
     "zh": "按本金补偿后再处置质押物的，各方按其在该笔贷款上已付金额的相同比例获得返还；资金池获得的返还先冲减其对该笔贷款仍欠付的部分。",
     "en": "When the collateral is sold after a principal claim, every party gets back the same fraction of what it "
           "paid on the loan; a fund's share first cancels what it still owes on that loan."},
    {"title_zh": "资金流入", "title_en": "Fund inflows",
     "zh": "各级资金期初合计 {capital}。每月按月初余额以年利率 {rules_fund_interest_rate} 计息；年度补充资金（合计每年 {topups}）于第 12、24……月到账。",
     "en": "The funds start with {capital} in all. Every month each earns interest at {rules_fund_interest_rate} a "
           "year on its opening balance; annual top-ups ({topups} a year in all) arrive in months 12, 24, …"},
    {"title_zh": "模拟期末", "title_en": "Horizon",
     "zh": "模拟在 {months} 个月（{simulation_horizon_years} 年）后结束：尚未到期的补偿申请由银行承担，尚未处置的质押物不计回收，各资金仍欠付的金额计为未付补偿。",
     "en": "The simulation stops after {months} months ({simulation_horizon_years} years): claims not yet due fall "
           "to the bank, collateral not yet sold recovers nothing, and what funds still owe is reported as unpaid."},
)

CSS = """
:root { --ink: #1b2631; --muted: #566573; --line: #d5d8dc; --accent: #1f4e79; --head: #eaf0f6; }
body { font-family: system-ui, -apple-system, "Segoe UI", "Noto Sans CJK SC", "WenQuanYi Micro Hei",
       "Microsoft YaHei", "PingFang SC", sans-serif; color: var(--ink); line-height: 1.55; font-size: 15px;
       max-width: 840px; margin: 0 auto; padding: 24px; }
h1 { color: var(--accent); font-size: 1.65em; margin: 0.2em 0 0.4em; }
h2 { color: var(--accent); border-bottom: 2px solid var(--accent); padding-bottom: 3px; margin-top: 1.8em; }
h3 { margin: 1.4em 0 0.4em; font-size: 1.08em; }
header p { margin: 0.3em 0; }
.headline { font-size: 1.1em; background: var(--head); border-left: 4px solid var(--accent); padding: 8px 12px; }
.warning { background: #fef5e7; border-left: 4px solid #d68910; padding: 6px 12px; }
.note { color: var(--muted); font-size: 0.9em; }
.desc { display: block; color: var(--muted); font-size: 0.85em; }
nav.toc ol { columns: 2; margin: 0; }
nav.toc a { color: var(--accent); text-decoration: none; }
table { border-collapse: collapse; width: 100%; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
thead th { background: var(--head); }
.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num, td code { white-space: nowrap; }
td code.hash { white-space: normal; word-break: break-all; }
table.params td:first-child, table.audit td:first-child { width: 38%; }
table.params td:nth-child(2) { width: 32%; }
table.rules td:first-child { width: 16%; }
table.groups td:first-child { white-space: nowrap; }
.wide table { font-size: 0.74em; }
.wide th, .wide td { padding: 2px 4px; }
.wide td { white-space: nowrap; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 0.92em; }
pre.cmd { background: #f4f6f7; border-left: 3px solid var(--accent); padding: 8px 12px; white-space: pre-wrap;
          word-break: break-all; }
.figure { margin: 0.5em 0; }
@page { size: A4; margin: 15mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  nav.toc { break-after: page; page-break-after: always; }
  section + section { break-before: page; page-break-before: always; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  tr, .figure, pre { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  .modebar, .modebar-container { display: none !important; }
  a { color: inherit; text-decoration: none; }
}
"""


# kind of result folder: (files it must hold, the report's title, intro and sections)
KINDS = {"run": (RUN_FILES, _run_report), "sweep": (SWEEP_FILES, _sweep_report),
         "sensitivity": (SENSITIVITY_FILES, _sensitivity_report), "size": (SIZE_FILES, _size_report)}
