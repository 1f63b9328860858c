"""Plotly figures of a run's results, in Chinese or English, shared by the web app and the report.

Each function takes what a run folder holds (its :class:`~riskpool.summary.Summary`,
months.parquet as a DataFrame, the scenario) and returns a ``plotly.graph_objects.Figure``; nothing here simulates.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from ..scenario import TIERS, Scenario
from ..summary import Summary
from .formats import money_axis
from .labels import Lang, t
from .views import groups, parties

SERIES_COLOURS = {"fund": "#1f4e79", "province": "#c0392b", "city": "#d68910", "county": "#27ae60"}
NODE_COLOUR = "#6c3483"
OVERLAY_COLOURS = ("#1f4e79", "#c0392b", "#27ae60", "#d68910", "#6c3483", "#17a589", "#7f8c8d", "#a04000")
SHORTFALL_SCALE = "RdYlGn_r"  # green when safe, red when short
SHORTFALL_RANGE = 0.10  # colour saturates at a 10 % shortfall probability
SUFFICIENCY_TARGET = 0.95
MONEY_TICKS = ","  # grouped digits (40,000 万元), not SI prefixes (40k 万元 reads oddly in Chinese)


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01}, height=height, margin={"l": 60, "r": 20, "t": 50, "b": 40},
                      legend={"orientation": "h", "y": -0.18}, template="plotly_white")
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def series_label(key: str, summary: Summary, lang: Lang) -> str:
    """Name of a fan-chart series: the whole fund, a tier, or a node with its region name."""
    if key == "fund" or key in TIERS:
        return t(key, lang)
    node = summary.nodes.get(key)
    return f"{key if node is None else node.name} ({key})"


def fan_chart(months: pd.DataFrame, keys: list[str], summary: Summary, lang: Lang) -> go.Figure:
    """Median month-end balance with its 5-95 % band for each of ``keys`` (fund, tiers or nodes)."""
    scale, unit = money_axis(lang)
    fig = go.Figure()
    for key in keys:
        rows = months[months["node"] == key].sort_values("month")
        if rows.empty:
            continue
        colour = SERIES_COLOURS.get(key, NODE_COLOUR)
        label = series_label(key, summary, lang)
        x = rows["month"].to_numpy()
        fig.add_trace(go.Scatter(x=x, y=rows["balance_p95"] / scale, line={"width": 0}, hoverinfo="skip",
                                 showlegend=False, legendgroup=key))
        fig.add_trace(go.Scatter(x=x, y=rows["balance_p05"] / scale, line={"width": 0}, fill="tonexty",
                                 fillcolor=_rgba(colour, 0.2), name=f"{label} {t('band_5_95', lang)}",
                                 legendgroup=key, hoverinfo="skip"))
        fig.add_trace(go.Scatter(x=x, y=rows["balance_p50"] / scale, line={"color": colour, "width": 2.5},
                                 name=f"{label} {t('median', lang)}", legendgroup=key,
                                 hovertemplate=f"{label}<br>%{{x}}: %{{y:,.1f}} {unit}<extra></extra>"))
    fig.update_xaxes(title=t("month", lang))
    fig.update_yaxes(title=f"{t('balance', lang)} ({unit})", rangemode="tozero", tickformat=MONEY_TICKS)
    return _layout(fig, t("fan_title", lang))


def survival_chart(summary: Summary, lang: Lang) -> go.Figure:
    """Probability that the whole fund and each tier have not yet run short, by month."""
    fig = go.Figure()
    series = groups(summary)
    for key, entry in series:
        curve = np.asarray(entry.survival, dtype=float)
        fig.add_trace(go.Scatter(x=np.arange(1, len(curve) + 1), y=curve, name=t(key, lang), mode="lines",
                                 line={"color": SERIES_COLOURS[key], "width": 3 if key == "fund" else 1.8,
                                       "shape": "hv"},
                                 hovertemplate="%{x}: %{y:.2%}<extra>" + t(key, lang) + "</extra>"))
    low = min(min(v.survival) for _, v in series) if series else 1.0
    fig.update_xaxes(title=t("month", lang))
    fig.update_yaxes(title=t("survival", lang), tickformat=".0%", range=[min(low, SUFFICIENCY_TARGET) - 0.01, 1.005])
    return _layout(fig, t("survival_title", lang))


def survival_overlay(summaries: Mapping[str, Summary], lang: Lang) -> go.Figure:
    """The whole fund's survival curve of each named run, overlaid (the workspace's comparison)."""
    fig = go.Figure()
    for k, (name, summary) in enumerate(summaries.items()):
        curve = np.asarray(summary.fund.survival, dtype=float)
        fig.add_trace(go.Scatter(x=np.arange(1, len(curve) + 1), y=curve, name=name, mode="lines",
                                 line={"color": OVERLAY_COLOURS[k % len(OVERLAY_COLOURS)], "width": 2.2, "shape": "hv"},
                                 hovertemplate="%{x}: %{y:.2%}<extra>" + name + "</extra>"))
    low = min((min(s.fund.survival) for s in summaries.values()), default=1.0)
    fig.update_xaxes(title=t("month", lang))
    fig.update_yaxes(title=t("survival", lang), tickformat=".0%", range=[min(low, SUFFICIENCY_TARGET) - 0.01, 1.005])
    return _layout(fig, t("workspace_chart_title", lang))


def party_chart(summary: Summary, lang: Lang) -> go.Figure:
    """Mean, VaR 99 % and ES 99 % of each party's loss, net of clawbacks."""
    scale, unit = money_axis(lang)
    losses = parties(summary)
    names = [t("party_fund" if p == "fund" else p, lang) for p, _ in losses]
    fig = go.Figure()
    for stat, colour in (("loss_mean", "#2e86c1"), ("var99", "#f39c12"), ("es99", "#c0392b")):
        values = [getattr(v, stat) / scale for _, v in losses]
        fig.add_trace(go.Bar(x=names, y=values, name=t(stat, lang), marker_color=colour,
                             hovertemplate=f"%{{x}}: %{{y:,.1f}} {unit}<extra>{t(stat, lang)}</extra>"))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title=unit, tickformat=MONEY_TICKS)
    return _layout(fig, t("parties_title", lang))


def shortfall_colour(p: float | None) -> str:
    """Colour of a shortfall probability; grey for a region without a fund of its own."""
    if p is None:
        return "#d5d8dc"
    return sample_colorscale(SHORTFALL_SCALE, [min(p / SHORTFALL_RANGE, 1.0)])[0]


def region_chart(summary: Summary, scenario: Scenario, lang: Lang) -> go.Figure:
    """Sunburst of the region tree, each region coloured by the shortfall probability of its fund."""
    nodes = summary.nodes
    ids, labels, parents, colours, hover = [], [], [], [], []
    for region in scenario.regions:
        entry = nodes.get(region.id)
        p = None if entry is None else entry.p_shortfall
        ids.append(region.id)
        labels.append(region.name)
        parents.append(region.parent or "")
        colours.append(shortfall_colour(p))
        figure = t("no_fund", lang) if p is None else f"{t('p_shortfall', lang)} {p:.2%}"
        hover.append(f"{region.name} ({region.id}, {t(region.tier, lang)})<br>{figure}")
    fig = go.Figure(go.Sunburst(ids=ids, labels=labels, parents=parents, marker={"colors": colours},
                                hovertext=hover, hoverinfo="text", insidetextorientation="radial", maxdepth=3))
    # A colour bar of the scale used above, drawn by an invisible scatter.
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                             marker={"colorscale": SHORTFALL_SCALE, "cmin": 0, "cmax": SHORTFALL_RANGE, "color": [0],
                                     "showscale": True, "colorbar": {"title": t("p_shortfall", lang),
                                                                     "tickformat": ".0%"}}))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, t("regions_title", lang), height=520)


def heatmap(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, x_title: str, y_title: str, lang: Lang) -> go.Figure:
    """P(shortfall) on a grid of two parameters, with the contour where sufficiency is 95 %."""
    fig = go.Figure(go.Heatmap(x=xs, y=ys, z=z, colorscale=SHORTFALL_SCALE, zmin=0,
                               zmax=max(SHORTFALL_RANGE, float(np.nanmax(z)) if np.isfinite(z).any() else 0),
                               colorbar={"title": t("p_shortfall", lang), "tickformat": ".0%"},
                               hovertemplate=f"{x_title}=%{{x}}<br>{y_title}=%{{y}}<br>"
                                             f"{t('p_shortfall', lang)}=%{{z:.2%}}<extra></extra>"))
    level = 1 - SUFFICIENCY_TARGET
    fig.add_trace(go.Contour(x=xs, y=ys, z=z, contours={"start": level, "end": level, "size": 1, "coloring": "none",
                                                         "showlabels": True},
                             line={"width": 3, "color": "black"}, name=t("contour_95", lang), showscale=False,
                             hoverinfo="skip"))
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title)
    return _layout(fig, t("heatmap_title", lang), height=420)


def sobol_chart(indices: dict[str, list], output: str, lang: Lang) -> go.Figure:
    """First-order and total Sobol indices of one output, per parameter, with their 95 % intervals."""
    rows = [i for i, o in enumerate(indices["output"]) if o == output]
    fig = go.Figure()
    for key, label, colour in (("S1", "report.s1", SERIES_COLOURS["fund"]), ("ST", "report.st", SERIES_COLOURS["city"])):
        fig.add_trace(go.Bar(x=[indices["parameter"][i] for i in rows], y=[indices[key][i] for i in rows],
                             error_y={"type": "data", "array": [indices[f"{key}_conf"][i] for i in rows]},
                             name=t(label, lang), marker_color=colour))
    fig.update_layout(barmode="group")
    fig.update_yaxes(title=t("report.index", lang), rangemode="tozero")
    return _layout(fig, t("report.sobol_title", lang, output=t(SOBOL_OUTPUTS[output], lang)))


SOBOL_OUTPUTS = {"p_shortfall": "p_shortfall", "payout_net_mean": "payout_mean"}  # label key of each output
