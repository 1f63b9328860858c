"""How the fast engine's time and peak memory grow with paths, loans and regions.

Three series around the bundled baseline (10,000 paths, one worker), each point timed in a
fresh process after a warm-up run, best of ``--repeat``:

- paths: 2,500 / 10,000 / 40,000 paths of the baseline;
- loans: every county's ``new_loans_per_year`` times 0.5 / 1 / 2;
- regions: the bundled ``minimal`` scenario (one county), the baseline's province with its first
  three cities and their counties, the baseline (14 cities, 122 counties).

Each point runs twice: with results kept in memory, and as ``simulate`` decides for users
(``auto``: large runs keep their per-path results on disk, riskpool.spool). Each row also gives
the floor (one uniform per candidate loan, as in bench_engine.py) for the same candidate loans.

    python benchmarks/bench_scaling.py [--repeat 2] [--json FILE] [--charts DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench_engine import floor_seconds

CHILD = r"""
import json, resource, sys, time
from riskpool import scenario
from riskpool.engine import simulate
from riskpool.limits import expected_candidates
raw, paths, spool = json.loads(sys.argv[1]), int(sys.argv[2]), {"auto": None, "memory": False}[sys.argv[3]]
s = scenario.from_dict(raw)
simulate(s, paths=250).release()  # load the compiled kernels from numba's cache
t0 = time.perf_counter()
res = simulate(s, paths=paths, spool=spool)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "spooled": res.spool is not None,
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "candidates_per_path": expected_candidates(s), "nodes": res.structure.n_nodes,
                  "counties": res.structure.n_counties}))
"""

BASE_PATHS = 10_000
MODES = ("memory", "auto")


def baseline() -> dict:
    from riskpool import scenario

    return scenario.read_raw_with(None)


def with_loans(raw: dict, factor: float) -> dict:
    """Every county's new loans per year times ``factor`` (factor 1: the same scenario, the same point)."""
    if factor == 1:
        return raw
    raw = json.loads(json.dumps(raw))
    for region in raw["regions"]:
        if "lending" in region:
            region["lending"]["new_loans_per_year"] *= factor
    return raw


def subset(raw: dict, cities: int) -> dict:
    """The province, its first ``cities`` cities and their counties."""
    raw = json.loads(json.dumps(raw))
    kept = {r["id"] for r in raw["regions"] if r["tier"] == "city"}
    kept = sorted(kept, key=[r["id"] for r in raw["regions"]].index)[:cities]
    raw["regions"] = [r for r in raw["regions"]
                      if r["tier"] == "province" or r["id"] in kept or r.get("parent") in kept]
    return raw


def minimal() -> dict:
    from riskpool import scenario

    return scenario.read_raw_with("minimal")


def series() -> dict[str, list[tuple[str, dict, int]]]:
    base = baseline()
    return {
        "paths": [(f"{p:,} paths", base, p) for p in (2_500, BASE_PATHS, 40_000)],
        "loans": [(f"new loans x{f:g}", with_loans(base, f), BASE_PATHS) for f in (0.5, 1.0, 2.0)],
        "regions": [("minimal (1 county)", minimal(), BASE_PATHS),
                    ("3 cities (23 counties)", subset(base, 3), BASE_PATHS),
                    ("baseline (122 counties)", base, BASE_PATHS)],
    }


def measure(raw: dict, paths: int, repeat: int, done: dict[str, dict]) -> dict:
    """Best of ``repeat`` runs in each mode; a point met before (the baseline is in every
    series) is reused."""
    key = json.dumps([raw, paths], sort_keys=True)
    if key not in done:
        point: dict = {"paths": paths}
        for mode in MODES:
            runs = []
            for _ in range(repeat):
                child = subprocess.run([sys.executable, "-c", CHILD, json.dumps(raw), str(paths), mode],
                                       capture_output=True, text=True, check=True)
                runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
            best = min(runs, key=lambda r: r["seconds"])
            point.update({k: best[k] for k in ("candidates_per_path", "nodes", "counties")})
            point[mode] = {k: best[k] for k in ("seconds", "peak_rss_bytes", "spooled")}
        point["floor_seconds"] = floor_seconds(int(round(point["candidates_per_path"] * paths)), repeat)
        done[key] = point
    return dict(done[key])


def table(results: dict[str, list[dict]]) -> str:
    lines = ["| series | point | paths | candidate loans per path | fund nodes | floor (s) | in memory: s (x floor) "
             "| GiB | auto: s (x floor) | GiB | auto kept results |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for name, rows in results.items():
        for r in rows:
            cells = [f"{r[m]['seconds']:.2f} ({r[m]['seconds'] / r['floor_seconds']:.1f}) | "
                     f"{r[m]['peak_rss_bytes'] / 2**30:.2f}" for m in MODES]
            lines.append(f"| {name} | {r['label']} | {r['paths']:,} | {r['candidates_per_path']:,.0f} | {r['nodes']} | "
                         f"{r['floor_seconds']:.3f} | {' | '.join(cells)} | "
                         f"{'on disk' if r['auto']['spooled'] else 'in memory'} |")
    return "\n".join(lines)


def charts(results: dict[str, list[dict]], folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    x_of = {"paths": lambda r: r["paths"], "loans": lambda r: r["candidates_per_path"],
            "regions": lambda r: r["counties"]}
    x_label = {"paths": "paths", "loans": "candidate loans per path", "regions": "counties"}
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), constrained_layout=True)
    for col, (name, rows) in enumerate(results.items()):
        xs = [x_of[name](r) for r in rows]
        for row, (key, label) in enumerate((("seconds", "seconds"), ("peak_rss_bytes", "peak memory (GiB)"))):
            ax = axes[row, col]
            scale = 2**30 if key == "peak_rss_bytes" else 1
            for mode, style in zip(MODES, ("o-", "^-")):
                ys = [r[mode][key] / scale for r in rows]
                ax.plot(xs, ys, style, label=f"results {'in memory' if mode == 'memory' else 'as simulate decides'}")
                for x, y, r in zip(xs, ys, rows):
                    if mode == "auto" and r["auto"]["spooled"]:
                        ax.annotate("on disk", (x, y), fontsize=7, textcoords="offset points", xytext=(4, -10))
            if key == "seconds":
                ax.plot(xs, [r["floor_seconds"] for r in rows], "s--", color="grey", label="floor")
            ax.set_xscale("log")
            ax.set_xticks(xs, [r["label"].replace(" (", "\n(") for r in rows], fontsize=7)
            ax.minorticks_off()
            ax.set_ylim(bottom=0)
            ax.set_xlabel(x_label[name])
            ax.set_ylabel(label)
            ax.grid(alpha=0.3)
        axes[0, col].set_title(f"growth with {name}")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("riskpool fast engine, one worker (bench_scaling.py)")
    fig.savefig(folder / "scaling.png", dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--charts", type=Path, help="write scaling.png into this folder")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {}
    done: dict[str, dict] = {}
    for name, points in series().items():
        results[name] = [dict(measure(raw, paths, args.repeat, done), label=label) for label, raw, paths in points]
    print(table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    if args.charts:
        charts(results, args.charts)


if __name__ == "__main__":
    main()
