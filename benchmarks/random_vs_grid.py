"""Random vs grid search (Bergstra & Bengio, 2012), the lecture's figure on a synthetic objective.

f(important, unimportant) = exp(-(important - 0.71)^2 / (2 * 0.08^2)) + 0.05 * unimportant, both knobs in
[0, 1]: the optimum is at important = 0.71, which no 3-point grid reaches. A 3x3 grid (the
project's `grid_space`, as `deeprob doctor --search grid` builds it) tries 3 distinct values of
the important knob; 9 random trials (each knob drawn independently and uniformly, as
`keras_tuner.RandomSearch` does for `deeprob doctor --search random`) try 9. Averaged over
`--repeats` random draws. Writes docs/random_vs_grid.png and benchmarks/results/random_vs_grid.md.

Run: .venv/bin/python benchmarks/random_vs_grid.py [--repeats 100] [--trials 9]
"""

import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from deeprob_keras.doctor.search import grid_space  # noqa: E402
from deeprob_keras.recipe import SearchParam  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPTIMUM, WIDTH, SLOPE = 0.71, 0.08, 0.05
SPACE = [SearchParam(name="important", kind="float", min=0.0, max=1.0),
         SearchParam(name="unimportant", kind="float", min=0.0, max=1.0)]


def objective(important, unimportant):
    return np.exp(-(np.asarray(important) - OPTIMUM) ** 2 / (2 * WIDTH ** 2)) + SLOPE * np.asarray(unimportant)


def grid_trials(trials):
    points = int(round(math.sqrt(trials)))
    values = [p.values for p in grid_space(SPACE, points)]
    return np.array([(a, b) for a in values[0] for b in values[1]], dtype=float)


def random_trials(trials, rng):
    return np.stack([rng.uniform(p.min, p.max, size=trials) for p in SPACE], axis=1)


def summarize(points):
    scores = objective(points[:, 0], points[:, 1])
    best = points[np.argmax(scores)]
    return {"distinct": len(np.unique(points[:, 0].round(9))), "best": float(scores.max()),
            "gap": abs(float(best[0]) - OPTIMUM)}


def run(repeats=100, trials=9, seed=0):
    rng = np.random.default_rng(seed)
    grid = grid_trials(trials)
    rows = {"grid": [summarize(grid)] * repeats, "random": [summarize(random_trials(trials, rng)) for _ in range(repeats)]}
    table = {name: {key: float(np.mean([r[key] for r in rs])) for key in ("distinct", "best", "gap")}
             for name, rs in rows.items()}
    table["random"]["wins"] = float(np.mean([r["best"] > rows["grid"][0]["best"] for r in rows["random"]]))
    table["grid"]["wins"] = float("nan")
    return grid, random_trials(trials, np.random.default_rng(seed + 1)), table


def plot(grid, random_points, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(9, 4.6))
    spec = fig.add_gridspec(2, 2, height_ratios=(1, 3), hspace=0.05, wspace=0.25)
    axis = np.linspace(0, 1, 400)
    for col, (title, pts) in enumerate((("Grid layout", grid), ("Random layout", random_points))):
        top = fig.add_subplot(spec[0, col])
        top.plot(axis, objective(axis, 0.0), color="tab:green")
        top.plot(pts[:, 0], objective(pts[:, 0], 0.0), "o", color="tab:blue", ms=5)
        top.set_xlim(-0.05, 1.05), top.set_xticks([]), top.set_yticks([])
        top.set_title(f"{title}: {len(np.unique(pts[:, 0].round(9)))} distinct important values")
        main = fig.add_subplot(spec[1, col])
        main.plot(pts[:, 0], pts[:, 1], "o", color="tab:blue", ms=7)
        for x in pts[:, 0]:
            main.axvline(x, color="tab:blue", alpha=0.15)
        main.set_xlim(-0.05, 1.05), main.set_ylim(-0.05, 1.05)
        main.set_xlabel("important parameter")
        if col == 0:
            main.set_ylabel("unimportant parameter")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def markdown(table, repeats, trials):
    lines = ["# Random vs grid search", "",
             f"Synthetic objective f(a, b) = exp(-(a - {OPTIMUM})^2 / (2 * {WIDTH}^2)) + {SLOPE} b on [0, 1]^2 "
             f"(a important, b nearly irrelevant; best value {1 + SLOPE:.2f} at a = {OPTIMUM}, b = 1). "
             f"{trials} trials each: a {int(round(math.sqrt(trials)))}x{int(round(math.sqrt(trials)))} grid "
             "(`deeprob_keras.doctor.search.grid_space`) vs independent uniform draws (what "
             f"`keras_tuner.RandomSearch` does); random averaged over {repeats} repetitions (the grid is the "
             "same every time). Produced by `.venv/bin/python benchmarks/random_vs_grid.py`; "
             "figure: docs/random_vs_grid.png.", "",
             "| search | distinct important values tried | best f found | abs(best a - optimum) | random beats grid |",
             "|---|---|---|---|---|"]
    for name in ("grid", "random"):
        row = table[name]
        wins = "-" if math.isnan(row["wins"]) else f"{row['wins']:.0%}"
        lines.append(f"| {name} | {row['distinct']:.1f} | {row['best']:.3f} | {row['gap']:.3f} | {wins} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--trials", type=int, default=9, help="a square number (the grid is sqrt x sqrt)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "random_vs_grid.md"))
    parser.add_argument("--figure", default=os.path.join(ROOT, "docs", "random_vs_grid.png"))
    args = parser.parse_args(argv)
    grid, random_points, table = run(args.repeats, args.trials)
    for path in (args.out, args.figure):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    plot(grid, random_points, args.figure)
    text = markdown(table, args.repeats, args.trials)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    return table


if __name__ == "__main__":
    main()
