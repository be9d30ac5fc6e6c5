"""The default recipe end to end on full Fashion-MNIST: test accuracy and CPU wall time, per seed.

Trains `--recipe` (default: recipes/fashion_mnist.yaml) exactly as
`deeprob train` does (no export), once per seed, and writes
benchmarks/results/default_recipe.md and .json: test accuracy (mean, spread),
epochs, training wall time, median seconds per epoch, and the load average
around each run. `benchmarks/run_all.py` puts the result next to the
published Fashion-MNIST figures in docs/RESULTS.md.

    .venv/bin/python benchmarks/default_recipe.py [--seeds 0 1 2] [--recipe recipes/fashion_mnist.yaml]
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))  # the sibling scripts, by their names

import numpy as np  # noqa: E402
import results_io  # noqa: E402


def run_seed(recipe_path, seed, work_dir):
    from deeprob_keras.recipe import load_recipe, with_overrides
    from deeprob_keras.training.run import train_recipe

    recipe = with_overrides(load_recipe(recipe_path), {"seed": seed})
    load = os.getloadavg()[0]
    started = time.time()
    result = train_recipe(recipe, os.path.join(work_dir, f"seed{seed}"), verbose=2, export=False)
    return {"seed": seed, "test_accuracy": float(result.metrics["test_accuracy"]),
            "epochs": int(result.metrics["epochs_run"]), "train_seconds": float(result.metrics["train_seconds"]),
            "seconds_per_epoch": float(result.metrics["seconds_per_epoch"]),
            "wall_seconds": time.time() - started, "load_before": load, "load_after": os.getloadavg()[0],
            "parameters": result.metrics.get("parameters")}


def summary(runs):
    acc = np.array([r["test_accuracy"] for r in runs])
    return {"mean": float(acc.mean()), "std": float(acc.std(ddof=1)) if len(acc) > 1 else None,
            "train_minutes": float(np.mean([r["train_seconds"] for r in runs]) / 60),
            "seconds_per_epoch": float(np.median([r["seconds_per_epoch"] for r in runs])),
            "epochs": runs[0]["epochs"], "n": len(runs)}


def write_report(data, out):
    s = summary(data["runs"])
    lines = ["# The default recipe on full Fashion-MNIST", "",
             f"Recipe `{data['recipe']}`, all 54,000 training images (6,000 held out for validation), "
             f"tested on the 10,000 test images; {s['epochs']} epochs; 2 CPU cores.", "",
             "| seed | test accuracy | epochs | training time | s/epoch (median) | load avg before → after |",
             "|---:|---:|---:|---:|---:|---|"]
    for r in data["runs"]:
        lines.append(f"| {r['seed']} | {r['test_accuracy']:.4f} | {r['epochs']} | {r['train_seconds'] / 60:.1f} min | "
                     f"{r['seconds_per_epoch']:.1f} | {r['load_before']:.1f} → {r['load_after']:.1f} |")
    spread = f" ± {s['std']:.4f} (sample std)" if s["std"] is not None else ""
    lines += ["", f"Test accuracy {s['mean']:.4f}{spread} over {s['n']} seed(s); "
              f"training {s['train_minutes']:.1f} min per run (wall time of `fit`, validation included).",
              "", f"Command: `{data['command']}`", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=os.path.join(ROOT, "recipes", "fashion_mnist.yaml"))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--work-dir", default=os.path.join(ROOT, "runs", "bench_default_recipe"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "default_recipe.md"))
    args = parser.parse_args(argv)
    if not os.path.exists(args.recipe):
        parser.error(f"recipe not found: {args.recipe}")
    data = {"recipe": os.path.relpath(os.path.abspath(args.recipe), ROOT), "runs": [],
            "command": ".venv/bin/python benchmarks/default_recipe.py " + " ".join(
                argv if argv is not None else sys.argv[1:])}
    json_path = results_io.json_beside(args.out)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    for seed in args.seeds:
        data["runs"].append(run_seed(args.recipe, seed, args.work_dir))
        results_io.write_json(json_path, data)
        write_report(data, args.out)
        r = data["runs"][-1]
        print(f"seed {seed}: test accuracy {r['test_accuracy']:.4f}, {r['train_seconds'] / 60:.1f} min", flush=True)
    print(open(args.out).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
