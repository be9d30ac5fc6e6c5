"""What `tf.distribute.MirroredStrategy` costs on a one-device machine, each run in a fresh process.

`strategy_overhead.py` times both strategies in one process, in turn, and found MirroredStrategy at
1.01-1.08x. The TFX Trainer (MirroredStrategy) still trained 1.13-1.27x slower per step than
`deeprob train` (default strategy) on the same data. This runs the real thing instead:
`deeprob train RECIPE --strategy default` and `--strategy mirrored`, alternating, each a fresh process
in a fresh output directory, for `--rounds` rounds, and compares the median ms per step of each
phase's epochs (Keras's lines) and the processes' wall times.

    .venv/bin/python benchmarks/strategy_fresh_process.py --recipe RECIPE [--epochs N] [--rounds 3] \\
        [--limit-examples N] [--out benchmarks/results/strategy_fresh_process.md] [--work-dir runs/bench_strategy_fresh]

`--epochs N` trains N epochs (each phase's, for a two-phase transfer recipe) instead of the recipe's;
`--limit-examples N` is `deeprob train`'s (the first N training examples).
Resumable: finished runs are kept in the JSON beside the report and skipped.
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import shutil
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEEPROB = os.path.join(os.path.dirname(sys.executable), "deeprob")
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))  # the sibling scripts, by their names
import results_io  # noqa: E402
from pipeline_wall_time import phase_medians, phases_of, timed  # noqa: E402

STRATEGIES = ("default", "mirrored")


def short_recipe(recipe_path, epochs, path):
    """Writes `recipe_path` with every phase's epochs set to `epochs` (None: as it is) to `path`."""
    from deeprob_keras.recipe import load_recipe, save_recipe, with_overrides

    recipe = load_recipe(recipe_path)
    if epochs is not None:
        overrides = {"training.epochs": epochs}
        if recipe.transfer is not None and recipe.transfer.mode == "two_phase":
            overrides["transfer.feature_extraction_epochs"] = epochs
        recipe = with_overrides(recipe, overrides)
    return save_recipe(recipe, path)


def summarize(runs, phases):
    """Rows per phase (and the wall time): each strategy's median over its runs, and mirrored / default."""
    measures = [(name, lambda r, name=name: r["ms_per_step"][name]) for name, _ in phases]
    measures.append(("wall time (s)", lambda r: r["wall_seconds"]))
    finished = [r for r in runs if r.get("ms_per_step")]
    rows = []
    for name, value in measures:
        values = {s: [value(r) for r in finished if r["strategy"] == s] for s in STRATEGIES}
        if all(values.values()):
            d, m = statistics.median(values["default"]), statistics.median(values["mirrored"])
            rows.append({"what": name, "default": d, "mirrored": m, "ratio": m / d,
                         "default_runs": values["default"], "mirrored_runs": values["mirrored"]})
    return rows


def report(data):
    lines = ["# MirroredStrategy against the default strategy, each run a fresh process", "",
             f"`deeprob train {data['recipe']} --strategy default|mirrored`, alternating, {data['rounds']} round(s); "
             f"each run a new process and output directory. Medians over the runs of each strategy; per run, "
             f"the median ms per step of the phase's epochs (Keras's lines). Replicas under MirroredStrategy here: "
             f"1 (one CPU, no GPU).", "",
             "| what | default | MirroredStrategy | mirrored / default | default runs | mirrored runs |",
             "|---|---:|---:|---:|---|---|"]
    def fmt(v):
        return f"{v:.1f}"

    for row in data["rows"]:
        lines.append(f"| {row['what']} | {fmt(row['default'])} | {fmt(row['mirrored'])} | **{row['ratio']:.2f}x** | "
                     f"{', '.join(fmt(v) for v in row['default_runs'])} | "
                     f"{', '.join(fmt(v) for v in row['mirrored_runs'])} |")
    lines += ["", "Runs (in order):", "",
              "| # | strategy | exit | wall s | load before -> after |", "|---:|---|---:|---:|---|"]
    for i, r in enumerate(data["runs"], 1):
        lines.append(f"| {i} | {r['strategy']} | {r['returncode']} | {r['wall_seconds']:.1f} | "
                     f"{r['load_before']:.2f} -> {r['load_after']:.2f} |")
    lines += ["", f"Command: `{data['command']}`", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", required=True)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--limit-examples", type=int, default=None)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "strategy_fresh_process.md"))
    parser.add_argument("--work-dir", default=os.path.join(ROOT, "runs", "bench_strategy_fresh"))
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1 (got {args.rounds})")
    for flag in ("epochs", "limit_examples"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            parser.error(f"--{flag.replace('_', '-')} must be >= 1 (got {value})")
    if not os.path.exists(args.recipe):
        parser.error(f"--recipe {args.recipe}: no such file")
    os.makedirs(args.work_dir, exist_ok=True)
    recipe = short_recipe(args.recipe, args.epochs, os.path.join(args.work_dir, "recipe.yaml"))
    phases = phases_of(recipe)
    json_path = results_io.json_beside(args.out)
    data = results_io.read_json(json_path) or {}
    settings = {"recipe": args.recipe, "epochs": args.epochs, "limit_examples": args.limit_examples}
    if any(data.get(k) != v for k, v in settings.items()):
        data = {**settings, "runs": []}  # another study's runs are not this one's
    data["rounds"] = args.rounds
    given = sys.argv[1:] if argv is None else argv
    data["command"] = " ".join([".venv/bin/python benchmarks/strategy_fresh_process.py"] + given)
    for i in range(len(data["runs"]), 2 * args.rounds):
        strategy = STRATEGIES[i % 2]
        out = os.path.join(args.work_dir, f"run_{i}_{strategy}")
        shutil.rmtree(out, ignore_errors=True)
        log = out + ".log"
        limit = ["--limit-examples", str(args.limit_examples)] if args.limit_examples else []
        step = timed([DEEPROB, "train", recipe, "--strategy", strategy, "--out", out] + limit, ROOT, log)
        with open(log) as f:
            medians = phase_medians(f.read(), phases)
        data["runs"].append({"strategy": strategy, "returncode": step["returncode"], "wall_seconds": step["seconds"],
                             "load_before": step["load_before"], "load_after": step["load_after"],
                             "ms_per_step": medians})
        print(f"{i + 1}/{2 * args.rounds} {strategy}: exit {step['returncode']}, {step['seconds']:.1f} s, "
              f"{medians}", flush=True)
        results_io.write_json(json_path, data)
        if step["returncode"] != 0:
            sys.exit(f"deeprob train failed (exit {step['returncode']}); see {log}")
    data["rows"] = summarize(data["runs"], phases)
    results_io.write_json(json_path, data)
    results_io.write_text(args.out, report(data))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
