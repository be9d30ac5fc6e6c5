"""What BatchNorm costs a training step, and what TensorFlow's fused kernel saves: side by side.

For each recipe, three variants of its network are built with the recipe's precision and augmenting input
pipeline and timed in one process, in turn, `--rounds` rounds of `--steps` steps, the median kept
(`flops_efficiency.side_by_side_recipes`): Keras's `BatchNormalization` (the recipe as it is, with
`model.fused_batch_norm: false`), `FusedBatchNormalization` (`model.fused_batch_norm: true`), and the network
without BatchNorm (`model.batch_norm: false`: not a recipe to train, the floor that says how much of the
step the normalization takes). A recipe with progressive resizing is timed at full size (its last epochs'
step). It trains nothing beyond the timed steps.

    .venv/bin/python benchmarks/fused_batch_norm.py [--recipes recipes/fashion_mnist.yaml ...] \\
        [--steps 40] [--rounds 3] [--out benchmarks/results/fused_batch_norm.md]

Writes the .md and a .json beside it.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))  # the sibling scripts, by their names

import flops_efficiency  # noqa: E402
import results_io  # noqa: E402

DEFAULT_RECIPES = ["recipes/fashion_mnist.yaml", "recipes/fashion_mnist_fast_4stage14.yaml",
                   "recipes/fashion_mnist_fast_4stage_wide_pr28_cross.yaml"]
VARIANTS = {"keras": {"model.fused_batch_norm": False}, "fused": {"model.fused_batch_norm": True},
            "none": {"model.batch_norm": False, "model.fused_batch_norm": False}}


def entries(recipe_paths, smoke=None):
    """{(recipe, variant): (path, overrides)} for `side_by_side_recipes` (progressive resizing off: full size)."""
    return {(path, variant): (path, {**overrides, "training.progressive_resize_min": None,
                                                  "training.progressive_resize_epochs": 0, **(smoke or {})})
            for path in recipe_paths for variant, overrides in VARIANTS.items()}


def summarize(seconds, recipe_paths):
    """One row per recipe: ms per step of each variant, the fused kernel's speed-up, BatchNorm's share."""
    rows = []
    for path in recipe_paths:
        keras_bn, fused, none = (seconds[(path, v)]["seconds_per_step"] for v in VARIANTS)
        rows.append({"recipe": path, "batch_size": seconds[(path, "keras")]["batch_size"],
                     "keras_ms": 1000 * keras_bn, "fused_ms": 1000 * fused, "none_ms": 1000 * none,
                     "speedup": keras_bn / fused, "keras_share": (keras_bn - none) / keras_bn,
                     "fused_share": (fused - none) / fused,
                     "rounds": {v: [1000 * s for s in seconds[(path, v)]["rounds"]] for v in VARIANTS}})
    return rows


def report_lines(result):
    lines = ["# BatchNorm: Keras's layer against TensorFlow's fused kernel, side by side", "",
             "Each recipe's training step (its precision and augmenting input pipeline; full size) with Keras's "
             "`BatchNormalization`, with `FusedBatchNormalization` (`model.fused_batch_norm: true`) and without "
             f"BatchNorm (the floor), timed in one process, in turn, {result['rounds']} rounds of {result['steps']} "
             "steps; the median round kept.", "",
             "| recipe | batch | Keras BN ms / step | fused BN ms / step | **speed-up** | no BN ms / step | "
             "BN's share of the step: Keras | fused |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["rows"]:
        lines.append(f"| {row['recipe']} | {row['batch_size']} | {row['keras_ms']:.1f} | {row['fused_ms']:.1f} "
                     f"| **{row['speedup']:.2f}x** | {row['none_ms']:.1f} | {100 * row['keras_share']:.0f}% "
                     f"| {100 * row['fused_share']:.0f}% |")
    lines += ["", "Each round (ms per step, Keras / fused / none):", ""]
    for row in result["rows"]:
        rounds = zip(*(row["rounds"][v] for v in VARIANTS))
        lines.append(f"- {row['recipe']}: " + "; ".join(" / ".join(f"{t:.0f}" for t in r) for r in rounds))
    return lines + flops_efficiency.side_by_side_footer(result)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=DEFAULT_RECIPES)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit-examples", type=int, default=None, help="override data.limit_examples (smoke runs)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "fused_batch_norm.md"))
    args = parser.parse_args(argv)
    for path in args.recipes:
        if not os.path.exists(path):
            parser.error(f"recipe not found: {path}")
    if args.steps < 1 or args.rounds < 1:
        parser.error("--steps and --rounds must be at least 1")
    smoke = {"data.limit_examples": args.limit_examples} if args.limit_examples else None
    load_before = flops_efficiency.load_average_text()
    print(f"fused_batch_norm: timing {len(args.recipes)} recipe(s) x {len(VARIANTS)} variants, "
          f"{args.rounds} rounds of {args.steps} steps", flush=True)
    seconds = flops_efficiency.side_by_side_recipes(entries(args.recipes, smoke), args.steps, args.rounds)
    result = {"rows": summarize(seconds, args.recipes), "steps": args.steps, "rounds": args.rounds,
              "load_before": load_before, "load_after": flops_efficiency.load_average_text(),
              "cpu": flops_efficiency.cpu_features()["model"],
              "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "command": ".venv/bin/python benchmarks/fused_batch_norm.py " + " ".join(
                  argv if argv is not None else sys.argv[1:])}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    results_io.write_json(results_io.json_beside(args.out), result)
    text = "\n".join(report_lines(result)) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
