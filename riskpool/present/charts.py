"""Static and interactive charts of sweeps: the sufficiency heatmap and sensitivity bars.

PNG files come from matplotlib (Agg, no display needed); HTML files from plotly with its
JavaScript embedded, so that they open offline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from ..files.atomic import atomic_write
from .figures import SUFFICIENCY_TARGET, heatmap
from .labels import t


def heatmap_grid(points: pa.Table, x: str, y: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p_shortfall on the (x, y) grid, averaged over any other axes; NaN where no point is valid."""
    xs = np.array(sorted(set(points.column(x).to_pylist())))
    ys = np.array(sorted(set(points.column(y).to_pylist())))
    total = np.zeros((len(ys), len(xs)))
    count = np.zeros_like(total)
    for xv, yv, p in zip(points.column(x).to_pylist(), points.column(y).to_pylist(), points.column("p_shortfall").to_pylist()):
        if p is None:  # a point that is not a valid scenario
            continue
        i, j = np.searchsorted(ys, yv), np.searchsorted(xs, xv)
        total[i, j] += p
        count[i, j] += 1
    with np.errstate(invalid="ignore"):
        return xs, ys, total / count


def heatmap_axes(points: pa.Table, axes: list[str]) -> tuple[str, str] | None:
    """The first two numeric axes (x, y) of a sweep's points, or None when there are fewer."""
    numeric = [a for a in axes if pa.types.is_floating(points.schema.field(a).type)]
    return (numeric[0], numeric[1]) if len(numeric) >= 2 else None


def write_heatmap(points: pa.Table, axes: list[str], folder: Path) -> list[Path]:
    """``heatmap.png`` and ``heatmap.html`` of p_shortfall over the first two axes, with the
    contour where sufficiency reaches 95 %; nothing when fewer than two numeric axes vary."""
    pair = heatmap_axes(points, axes)
    if pair is None:
        return []
    x, y = pair
    xs, ys, z = heatmap_grid(points, x, y)
    return [_png(xs, ys, z, x, y, folder / "heatmap.png"), _html(xs, ys, z, x, y, folder / "heatmap.html")]


def _png(xs, ys, z, x: str, y: str, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5.5), dpi=120)
    mesh = ax.pcolormesh(xs, ys, z, shading="nearest", cmap="RdYlGn_r", vmin=0, vmax=max(0.1, float(np.nanmax(z))))
    fig.colorbar(mesh, ax=ax, label=t("sweep_chart_colorbar", "en"))
    if len(xs) > 1 and len(ys) > 1 and np.nanmin(z) < 1 - SUFFICIENCY_TARGET < np.nanmax(z):
        contour = ax.contour(xs, ys, z, levels=[1 - SUFFICIENCY_TARGET], colors="black", linewidths=2)
        ax.clabel(contour, fmt={1 - SUFFICIENCY_TARGET: t("contour_95", "en")})
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(t("sweep_chart_title", "en"))
    fig.tight_layout()
    atomic_write(path, lambda p: fig.savefig(p, format="png"))
    plt.close(fig)
    return path


def _html(xs, ys, z, x: str, y: str, path: Path) -> Path:
    fig = heatmap(xs, ys, z, x, y, "en")
    atomic_write(path, lambda p: fig.write_html(str(p), include_plotlyjs=True, full_html=True))
    return path
