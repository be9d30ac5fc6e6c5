"""What `tf.distribute.MirroredStrategy` costs a training step on a one-device machine, side by side.

The TFX Trainer trains under `MirroredStrategy()` (all local GPUs, else the CPU: one replica here);
`deeprob train` trains under the default strategy. Both now read the same arrays through the same
`datasets_from_arrays`, yet the Trainer's epochs took 1.36x plain training's in one run with 3x the
epochs (stop 33; docs/MEASUREMENTS_NOTES.md). This times each recipe's training step under both
strategies in one process, in turn each round (`flops_efficiency.side_by_side_recipes`), so that a
drifting VM touches both alike, and reports the ratio. It trains nothing beyond the timed steps.

It times the steady state of one long `fit` (no epoch boundaries, no validation) and found 1.01-1.08x.
Whole epochs in fresh processes, as the Trainer runs them, cost 1.22-1.29x under MirroredStrategy
(`strategy_fresh_process.py`, stop 43). So the cost lies in what this script leaves out (each epoch's new
distributed iterators, validation, the first steps of a process), not in the steady step; which of these
was not measured.

    .venv/bin/python benchmarks/strategy_overhead.py [--recipes recipes/fashion_mnist.yaml ...] \\
        [--steps 40] [--rounds 3] [--steps-per-execution 8] [--out benchmarks/results/strategy_overhead.md]

`--steps-per-execution N` adds a row per recipe (or phase) with `training.steps_per_execution: N`, timed in the
same rounds: whether running N steps per call (one dispatch, one distributed-iterator hand-off per N steps)
shrinks what the strategy costs a short step.

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

STRATEGIES = ("default", "mirrored")


def phases(recipe_path):
    """[(label, overrides)]: the recipe as it is, or each phase of a two_phase transfer recipe (the
    phase's own overrides from the run plan; fine-tuning starts from the backbone, not from phase 1's
    model, which has the same layers and so the same step)."""
    from deeprob_keras.recipe import load_recipe
    from deeprob_keras.training.plan import global_batch_size, plan_phases

    recipe = load_recipe(recipe_path)
    plans = plan_phases(recipe, global_batch_size(recipe))
    if len(plans) == 1:
        return [(recipe_path, {})]
    return [(f"{recipe_path} ({p.name})", dict(p.overrides)) for p in plans]


def entries(recipe_paths, mirrored, steps_per_execution=None):
    """{(label, strategy name): (path, overrides, strategy)} for `side_by_side_recipes`; and the labels.

    With `steps_per_execution`, each recipe (or phase) also gets a row "<label>, N steps per call" with
    `training.steps_per_execution: N` added to its overrides."""
    result, labels = {}, []
    for path in recipe_paths:
        for label, overrides in phases(path):
            variants = [(label, overrides)]
            if steps_per_execution:
                variants.append((f"{label}, {steps_per_execution} steps per call",
                                 {**overrides, "training.steps_per_execution": steps_per_execution}))
            for row_label, row_overrides in variants:
                labels.append(row_label)
                for name in STRATEGIES:
                    result[(row_label, name)] = (path, row_overrides, mirrored if name == "mirrored" else None)
    return result, labels


def summarize(costs, labels):
    """One row per recipe (or transfer phase): ms per step under each strategy and the ratio
    mirrored / default, the median round's and each round's."""
    rows = []
    for path in labels:
        default, mirrored = costs[(path, "default")], costs[(path, "mirrored")]
        rows.append({"recipe": path, "batch_size": default["batch_size"],
                     "default_ms": 1000 * default["seconds_per_step"],
                     "mirrored_ms": 1000 * mirrored["seconds_per_step"],
                     "ratio": mirrored["seconds_per_step"] / default["seconds_per_step"],
                     "round_ratios": [m / d for m, d in zip(mirrored["rounds"], default["rounds"])]})
    return rows


def report_lines(result):
    lines = ["# MirroredStrategy on one device against the default strategy, side by side", "",
             "Each recipe's training step (its augmenting input pipeline, batch as the recipe says) timed under "
             "the default strategy and under `tf.distribute.MirroredStrategy()` (what the TFX Trainer uses; "
             f"{result['replicas']} replica(s) here) in one process, in turn, {result['rounds']} rounds of "
             f"{result['steps']} steps; the median round kept.", "",
             "| recipe | batch | default ms / step | MirroredStrategy ms / step | ratio | each round |",
             "|---|---:|---:|---:|---:|---|"]
    for row in result["rows"]:
        lines.append(f"| {row['recipe']} "
                     f"| {row['batch_size']} | {row['default_ms']:.1f} | {row['mirrored_ms']:.1f} "
                     f"| **{row['ratio']:.2f}x** | {', '.join(f'{r:.2f}x' for r in row['round_ratios'])} |")
    return lines + flops_efficiency.side_by_side_footer(result)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["recipes/fashion_mnist.yaml"])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps-per-execution", type=int, default=None, metavar="N",
                        help="also time each recipe with training.steps_per_execution: N (N >= 2)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "strategy_overhead.md"))
    args = parser.parse_args(argv)
    if args.steps < 1 or args.rounds < 1:
        parser.error("--steps and --rounds must be at least 1")
    if args.steps_per_execution is not None and args.steps_per_execution < 2:
        parser.error(f"--steps-per-execution must be at least 2 (1 is each recipe's own row). "
                     f"Received: {args.steps_per_execution}")
    for path in args.recipes:
        if not os.path.isfile(path):
            parser.error(f"no recipe file {path}")
    import tensorflow as tf

    mirrored = tf.distribute.MirroredStrategy()
    load_before, started = flops_efficiency.load_average_text(), time.time()
    timed, labels = entries(args.recipes, mirrored, args.steps_per_execution)
    costs = flops_efficiency.side_by_side_recipes(timed, args.steps, args.rounds)
    result = {"rows": summarize(costs, labels), "steps": args.steps, "rounds": args.rounds,
              "replicas": mirrored.num_replicas_in_sync, "load_before": load_before,
              "load_after": flops_efficiency.load_average_text(), "cpu": flops_efficiency.cpu_features()["model"],
              "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
              "command": " ".join([".venv/bin/python", "benchmarks/strategy_overhead.py"] + (argv or sys.argv[1:]))}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    results_io.write_json(results_io.json_beside(args.out), result)
    with open(args.out, "w") as f:
        f.write("\n".join(report_lines(result)) + "\n")
    print("\n".join(report_lines(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
