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
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from plotly.graph_objects import Figure
from pydantic import BaseModel

from ..files.atomic import atomic_write
from ..files.contents import Contents
from ..files.runfolder import RESULT_FILES
from ..importance import effective_sample_size
from ..present import figures, maps
from ..present.charts import heatmap_axes, heatmap_grid
from ..present.formats import MISSING, as_given, money, month_label, percent, rate_as_given, times
from ..present.labels import LABELS, LANGS, Lang, t
from ..present.workbook import workbook_bytes
from ..present.views import banks, funded_tiers, groups, parties, weakest_nodes
from ..scenario import TIERS, Problem, Scenario, ScenarioError, field_unit
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

OWN_TABLES = {"sharing.bands"}  # lists of tables, shown as tables of their own
# parts added after the first format ("layers") show only when a run uses them (in its canonical scenario)
SCENARIO_PARTS = ("meta", "simulation", "credit", "collateral", "sharing", "rules", "parties", "layers", "uncertainty")
LISTS = ("products", "banks")  # lists of tables added after the first format, shown when given
# region fields added after the first format: a column of the regions' table when some region sets one
ADDED_REGION_FIELDS = ("annual_cap", "tiers", "topup_rule", "target_balance", "target_reserve_ratio", "topup_budget",
                       "restore_years", "bank_shares")
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
    """Write the report (default ``folder/report.html``, or ``report.zh.html`` in Chinese); returns
    its path. An ``out`` ending in ``.xlsx`` gets the run's Excel workbook instead."""
    path = Path(out) if out is not None else Path(folder) / DEFAULT_FILES[lang]
    if path.suffix == ".xlsx":
        data = workbook(folder, lang)
        writer = lambda p: p.write_bytes(data)  # noqa: E731
    else:
        text = render(folder, lang)
        writer = lambda p: p.write_text(text, encoding="utf-8")  # noqa: E731
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, writer)
    return path


def workbook(where: Path | Mapping[str, bytes], lang: Lang) -> bytes:
    """The Excel workbook of a run folder (riskpool.present.workbook)."""
    folder = Contents(where)
    manifest = read_manifest(folder)
    if manifest.get("kind", "run") != "run":
        raise ScenarioError([Problem("out", ".xlsx", f"an Excel workbook is made of a run folder, not of a "
                                     f"{manifest['kind']} folder")])
    return workbook_bytes(Summary.from_json(folder.json("summary.json")), parse_lang(lang))


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


# --------------------------------------------------------------------------- scenario values


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
    """A scenario value (of the field ``path``) as a reader takes it, by the field's unit
    (riskpool.scenario.field_unit): money, per cent, multiples, choices in words."""
    if isinstance(value, list):
        return join(("; " if value and isinstance(value[0], str) else ", ").join(as_given(v) for v in value) or MISSING)
    if value is None:
        return join(MISSING)
    if isinstance(value, bool):
        return join(t("report.yes" if value else "report.no", lang))
    unit, zero_is_none = field_unit(path)
    if zero_is_none and value == 0:
        return join(t("report.off", lang))
    if unit == "choice":
        return _paren(code(value), t(f"choice.{path.split('.')[-1]}.{value}", lang), lang)
    if unit == "yuan":
        return join(money(value, lang))
    if unit == "fraction":
        return join(rate_as_given(value))
    if unit == "multiple":
        return join(as_given(value) + "×")
    return join(as_given(value))


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
        *([("convergence", t("report.sec_convergence", lang), _convergence(summary, lang))]
          if summary.convergence else []),
        *([("uncertainty", t("report.sec_uncertainty", lang), _uncertainty(summary, lang))]
          if summary.uncertainty else []),
        ("weakest", t("report.sec_weakest", lang), _weakest(summary, lang)),
        ("regions", t("regions_title", lang),
         figure(maps.region_figure(summary, Scenario.model_validate(scenario), lang), "region-chart")),
        ("parties", t("report.sec_parties", lang), _parties(summary, lang)),
        *([("banks", t("report.sec_banks", lang), _banks(summary, lang))] if summary.banks else []),
        *([("budget", t("report.sec_budget", lang), _budget(summary, lang))] if summary.budget else []),
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
        return times(v.capital / need) if need else MISSING

    rows = [[name, money(v.capital, lang), money(v.required_capital.q95, lang),
             money(v.required_capital.q99, lang), cover(v)] for name, v in _groups(summary, lang)]
    head = [t("report.scope", lang), t("capital", lang), t("required_q95", lang), t("required_q99", lang),
            t("report.cover_99", lang)]
    return join(table(head, rows, "lrrrr", cls="groups"), note(t("report.capital_note", lang)))


def _convergence(summary: Summary, lang: Lang) -> Html:
    c = summary.convergence
    rows = [[f"{k.paths:,}", percent(k.p_shortfall, digits=2), percent(k.se, digits=2)] for k in c.checkpoints]
    head = [t("param.simulation.paths", lang), t("p_shortfall", lang), t("report.batch_se", lang)]
    need = {x: "–" if n is None else f"{n:,}" for x, n in c.paths_for.items()}
    return join(table(head, rows, "rrr"),
                note(t("report.convergence_note", lang, batch=c.batch_paths, p1=need["0.01"], p05=need["0.005"],
                       p01=need["0.001"])))


def _uncertainty(summary: Summary, lang: Lang) -> Html:
    u = summary.uncertainty
    paths = list(u.parameters)
    rows = [[str(b), *(as_given(round(u.parameters[p][b], 6)) for p in paths), percent(u.block_p_shortfall[b], digits=2)]
            for b in range(u.blocks)]
    head = [t("report.uncertainty_block", lang), *(param_label(p, lang) for p in paths), t("p_shortfall", lang)]
    text = t("report.uncertainty_note", lang, total=percent(u.total_sd, digits=2), mc=percent(u.monte_carlo_sd, digits=2),
             param=percent(u.parameter_sd, digits=2), low=percent(u.sufficiency_q025), high=percent(u.sufficiency_q975))
    return join(note(text), el("div", table(head, rows, "r" * len(head)), class_="wide"))


def _weakest(summary: Summary, lang: Lang) -> Html:
    rows = [[code(node), v.name, t(v.tier, lang), percent(v.p_shortfall, v.p_shortfall_se, digits=2),
             month_label(v.first_shortfall_month.p50, lang), money(v.capital, lang),
             money(v.required_capital.q95, lang), money(v.payout_net.mean, lang)]
            for node, v in weakest_nodes(summary)]
    head = [t("node", lang), param_label("regions.name", lang), param_label("regions.tier", lang),
            f"{t('p_shortfall', lang)} {t('report.pm_se', lang)}",
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
    caps = summary.caps
    capped = note(t("report.caps_note", lang, capped=money(caps.capped_mean, lang), p=percent(caps.p_capped))) \
        if caps else join()
    return join(figure(figures.party_chart(summary, lang), "party-chart"), table(head, rows, "lrrr"),
                table([t("report.figure", lang), t("report.value", lang)], extra, "lr"),
                note(t("report.parties_note", lang)), capped)


def _budget(summary: Summary, lang: Lang) -> Html:
    groups = summary.budget or {}
    names = {g: t("fund", lang) if g == "fund" else t(g, lang) for g in groups}
    head = [t("report.budget_year", lang), *(t(f"report.budget_{k}", lang, group=names[g]) for g in groups
                                             for k in ("mean", "q95"))]
    years = next(iter(groups.values()), [])
    rows = [[str(y.year), *(money(getattr(groups[g][i], k), lang) for g in groups for k in ("mean", "q95"))]
            for i, y in enumerate(years)]
    return join(el("div", table(head, rows, "r" * len(head)), class_="wide"), note(t("report.budget_note", lang)))


def _banks(summary: Summary, lang: Lang) -> Html:
    rows = [[code(bank_id), v.name, percent(v.p_shortfall, digits=2), month_label(v.first_shortfall_month_p50, lang),
             money(v.credit_line, lang), money(v.originated_mean, lang), money(v.fund_paid_mean, lang),
             money(v.loss_mean, lang), money(v.unpaid_mean, lang), f"{v.suspended_mean:,.1f}", f"{v.refused_mean:,.1f}",
             percent(v.p_breaker, digits=2)] for bank_id, v in banks(summary)]
    head = [param_label("banks.id", lang), param_label("banks.name", lang), t("p_shortfall", lang),
            t("first_shortfall", lang), param_label("banks.credit_line", lang),
            *(t(f"report.bank_{k}", lang) for k in ("originated", "fund_paid", "loss")), t("unpaid_mean", lang),
            *(t(f"report.bank_{k}", lang) for k in ("suspended", "refused", "p_breaker"))]
    return join(el("div", table(head, rows, "ll" + "r" * 10), class_="wide"), note(t("report.banks_note", lang)))


def _lending(summary: Summary, lang: Lang) -> Html:
    lend = summary.lending
    rows = [
        (t("report.originated_mean", lang), money(lend.originated_mean, lang)),
        (t("report.loans_originated_mean", lang), f"{lend.loans_originated_mean:,.0f}"),
        (t("report.defaulted_ead_mean", lang), money(lend.defaulted_ead_mean, lang)),
        (t("report.defaults_mean", lang), f"{lend.defaults_mean:,.1f}"),
        (t("report.recovered_mean", lang), money(lend.recovered_mean, lang)),
        (t("report.initial_fund_capital", lang), money(lend.initial_fund_capital, lang)),
        (t("multiplier", lang), times(lend.multiplier_mean)),
        (t("report.leverage_peak", lang), times(lend.leverage_peak_mean)),
    ]
    return join(table([t("report.figure", lang), t("report.value", lang)], rows, "lr"),
                note(t("report.lending_note", lang)))


def _run_audit(folder: Contents, manifest: dict[str, Any], summary: Summary, lang: Lang) -> Html:
    rows = [(t("param.simulation.seed", lang), manifest["seed"]), (t("param.simulation.paths", lang), f"{manifest['paths']:,}"),
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
    return join(table([t("report.parameter", lang), t("report.key", lang), t("report.values", lang)], rows),
                table([t("report.figure", lang), t("report.value", lang)],
                      [[t("report.points", lang), f"{spec['points']:,}"], [t("param.simulation.paths", lang), f"{spec['paths']:,}"],
                       [t("param.simulation.seed", lang), spec["seed"]]], "lr"),
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
    return join(table([t("report.parameter", lang), t("report.key", lang), t("report.low", lang), t("report.high", lang)], rows, "llrr"),
                note(t("report.design_note", lang)))


def _indices(indices: dict[str, list], lang: Lang) -> Html:
    def index(x: float) -> str:
        return f"{x:.3f}" if np.isfinite(x) else MISSING

    rows = [[t(figures.SOBOL_OUTPUTS[o], lang), axis_label(p, lang), index(s1), index(c1), index(st), index(ct)]
            for o, p, s1, c1, st, ct in zip(indices["output"], indices["parameter"], indices["S1"], indices["S1_conf"],
                                            indices["ST"], indices["ST_conf"])]
    head = [t("report.output", lang), t("report.parameter", lang), t("report.s1", lang), "± 95 %", t("report.st", lang), "± 95 %"]
    return table(head, rows, "llrrrr")


def _batch_audit(folder: Contents, manifest: dict[str, Any], asked: dict[str, Any], base_sha: str, text: str,
                 lang: Lang) -> Html:
    """The audit section of a sweep, sensitivity study or sizing answer (many runs on one seed)."""
    rows = [(t("param.simulation.seed", lang), asked["seed"]), (t("param.simulation.paths", lang), f"{asked['paths']:,}"),
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
        high = t("report.beyond", lang) if answer["scale_high"] is None else times(answer["scale_high"], digits=3)
        rows += [[t("report.s_scale", lang), times(answer["scale"], digits=3)],
                 [t("report.s_interval", lang), f"{times(answer['scale_low'], digits=3)} – {high}"],
                 [t("report.s_capital_needed", lang), money(answer["capital_needed"], lang)],
                 [t("report.s_sufficiency", lang), percent(answer["sufficiency"], answer["sufficiency_se"], digits=2)]]
        body = []
    rows.append([t("param.rules.leverage", lang), t("report.s_kept" if asked["keep_leverage"] else "report.s_lifted", lang)])
    return join(table([t("report.figure", lang), t("report.value", lang)], rows, "lr"), *body, note(t("report.size_note", lang)))


# --------------------------------------------------------------------------- the scenario


def _scenario(scenario: dict[str, Any], lang: Lang) -> Html:
    """The scenario as simulated (the manifest's canonical form), one table per part, then the regions."""
    parts = []
    for part in (p for p in SCENARIO_PARTS if p in scenario):
        model = _submodel(Scenario, part)
        rows = _param_rows(scenario.get(part, {}), model, part, lang)
        parts.append(join(el("h3", t(f"section.{part}", lang)),
                          table([t("report.parameter", lang), t("report.key", lang), t("report.value", lang)], rows,
                                cls="params")))
        if part == "sharing":
            parts.append(_bands(scenario["sharing"].get("bands", []), lang))
    parts += [_items(name, scenario[name], lang) for name in LISTS if scenario.get(name)]
    if scenario.get("book"):
        parts.append(_book(scenario["book"], lang))
    return join(*parts, el("h3", t("section.regions", lang)), _regions(scenario["regions"], lang))


def _book(book: dict[str, Any], lang: Lang) -> Html:
    """A register's loans by status: how many, their principal, what was compensated and recovered."""
    rows = []
    for status in ("performing", "overdue", "defaulted"):
        loans = [x for x in book["loans"] if x["status"] == status]
        rows.append([t(f"choice.status.{status}", lang), f"{len(loans):,}",
                     *(money(sum(x[k] for x in loans), lang) for k in ("principal", "compensated", "recovered"))])
    head = [param_label("book.loans.status", lang), t("report.book_count", lang), t("report.book_principal", lang),
            t("report.book_compensated", lang), t("report.book_recovered", lang)]
    return join(el("h3", t("section.book", lang)),
                el("p", t("report.book_intro", lang, month=book["valuation_month"], n=f"{len(book['loans']):,}")),
                table(head, rows, "lrrrr"))


def _items(name: str, items: list[dict[str, Any]], lang: Lang) -> Html:
    """A list of tables (products, banks): one row per item, one column per field."""
    keys = list(items[0])
    rows = [[_compact(f"{name}.{k}", item.get(k), lang) for k in keys] for item in items]
    head = [param_label(f"{name}.{k}", lang) if k != "shares" else t("section.shares", lang) for k in keys]
    return join(el("h3", t(f"section.{name}", lang)), el("div", table(head, rows, "l" * len(keys)), class_="wide"))


def _compact(path: str, value: Any, lang: Lang) -> Html:
    """A value in one cell; a table of values (a split, shares) as ``key value`` pairs."""
    if isinstance(value, dict):
        return join(" / ".join(f"{k} {value_text(f'{path}.{k}', v, lang)}" for k, v in value.items()))
    return code(value) if path.endswith(".id") else value_text(path, value, lang)


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
    """The parameter's name, with what it means (``help.<path>``) where the catalogue says."""
    described = model is not None and key in model.model_fields and f"help.{path}" in LABELS
    return join(param_label(path, lang), el("span", t(f"help.{path}", lang), class_="desc") if described else "")


def _bands(bands: list[dict[str, Any]], lang: Lang) -> Html:
    if not bands:
        return note(t("report.no_bands", lang))
    shares = ("fund", "bank", "guarantor", "insurer", "evaluator")
    rows = [[money(b["max_loan"], lang), *(rate_as_given(b[s]) for s in shares)]
            for b in sorted(bands, key=lambda b: b["max_loan"])]
    head = [param_label("sharing.bands.max_loan", lang), *(t("party_fund" if s == "fund" else s, lang) for s in shares)]
    return join(el("h3", t("section.sharing.bands", lang)), table(head, rows, "rrrrrr"))


def _regions(regions: list[dict[str, Any]], lang: Lang) -> Html:
    """Every region with its fund, top-up and lending table; a total row; counts in a note."""
    added = [f for f in ADDED_REGION_FIELDS if any(f in r for r in regions)]
    cols = ["fund", "annual_topup", "pd_multiplier", *(f"lending.{f}" for f in LENDING_FIELDS), *added]

    def cell(r: dict[str, Any], col: str) -> object:
        value = (r.get("lending") or {}).get(col.removeprefix("lending.")) if col.startswith("lending.") else r.get(col)
        if col == "fund" and value is None:
            return t("no_fund", lang)
        if col == "annual_topup" and r.get("fund") is None:
            return ""
        return "" if value is None else _compact(f"regions.{col}", value, lang)

    rows = [[code(r["id"]), r.get("name", ""), t(r["tier"], lang), r.get("parent") or "", *(cell(r, c) for c in cols)]
            for r in regions]
    lending = [r["lending"] for r in regions if r.get("lending")]
    totals = {"fund": money(sum(r.get("fund") or 0 for r in regions), lang),
              "annual_topup": money(sum(r.get("annual_topup") or 0 for r in regions), lang),
              "lending.initial_loans": f"{sum(x['initial_loans'] for x in lending):,}",
              "lending.new_loans_per_year": f"{sum(x['new_loans_per_year'] for x in lending):,.6g}"}
    rows.append([el("strong", t("report.total", lang)), "", "", "", *(totals.get(c, "") for c in cols)])
    head = [param_label(f"regions.{c}", lang) if c != "tiers" else t("section.sharing.tiers", lang)
            for c in ("id", "name", "tier", "parent", *cols)]
    funded = sum(r.get("fund") is not None for r in regions)
    return join(note(t("report.regions_note", lang, n=len(regions), funded=funded, lending=len(lending))),
                el("div", table(head, rows, "llll" + "r" * len(cols)), class_="wide"))


# --------------------------------------------------------------------------- methodology


def _methodology(scenario: dict[str, Any], paths: int, lang: Lang) -> Html:
    values, sources = _rule_values(scenario, lang)
    months = 12 * scenario["simulation"]["horizon_years"]
    brief = [el("p", t(f"report.brief_{name}", lang, paths=paths, months=months)) for name in MODEL_BRIEF]
    order = el("ol", *(el("li", t(f"report.step_{name}", lang)) for name in MONTH_ORDER))
    rows = []
    for name in RULES:
        rule = t(f"report.rule_{name}", lang)  # placeholders filled with HTML below
        names = [f for _, f, _, _ in string.Formatter().parse(rule) if f]
        text = Html(rule.format(**{n: _inner(values[n]) for n in names}))
        keys = dict.fromkeys(sources[n] for n in names)  # in order of appearance, once each
        rows.append([t(f"report.rule_{name}_title", lang),
                     join(text, el("span", Html(", ".join(code(k) for k in keys)), class_="desc"))])
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

# The methodology's paragraphs, steps and rules, in order: report.brief_*, report.step_* and
# report.rule_* (with report.rule_*_title) of riskpool/present/labels.toml. A rule's placeholders
# are scenario keys with "_" for "." or the derived names of _rule_values.
MODEL_BRIEF = ("model", "shortfall", "random")
MONTH_ORDER = ("inflows", "recoveries", "queue", "defaults", "claims", "maturities", "originations", "month_end")
RULES = ("defaults", "recoveries", "lending", "limits", "claims", "sharing", "shortfalls", "parties", "clawback",
         "inflows", "horizon")

CSS = (resources.files(__package__) / "report.css").read_text(encoding="utf-8")


# kind of result folder: (files it must hold, the report's title, intro and sections)
KINDS = {"run": (RUN_FILES, _run_report), "sweep": (SWEEP_FILES, _sweep_report),
         "sensitivity": (SENSITIVITY_FILES, _sensitivity_report), "size": (SIZE_FILES, _size_report)}
