"""Single model vs EMA vs snapshot ensemble vs independent models, same epochs per model.

    .venv/bin/python benchmarks/ensemble_comparison.py --epochs 5

Every arm trains the default recipe on full Fashion-MNIST for `--epochs`
epochs per model (the independent ensemble trains `--members` models, so it
costs that many times more); test accuracy on the 10,000 test images. Results
go to benchmarks/results/ensemble_comparison.md, one line per arm as it ends.
"""

import argparse
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from deeprob_keras.recipe import load_recipe, with_overrides  # noqa: E402
from deeprob_keras.training import train_recipe  # noqa: E402


def arms(epochs, members, snapshots):
    return {
        "single": {},
        "ema (beta 0.995)": {"optimizer.use_ema": True},
        f"snapshot ensemble (M={snapshots})": {
            "schedule.name": "cosine_restarts", "schedule.cycle_epochs": epochs / snapshots,
            "schedule.warmup_epochs": 0.0, "callbacks.snapshots": True},
        f"{members} independent models": {"training.ensemble_members": members},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=os.path.join(ROOT, "recipes", "fashion_mnist.yaml"))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--snapshots", type=int, default=3)
    parser.add_argument("--limit-examples", type=int, default=None)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "ensemble_comparison.md"))
    args = parser.parse_args()
    base = with_overrides(load_recipe(args.recipe), {
        "training.epochs": args.epochs, "data.limit_examples": args.limit_examples,
        "callbacks.backup": False})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, overrides) in enumerate(arms(args.epochs, args.members, args.snapshots).items()):
            load = os.getloadavg()[0]
            started = time.time()
            result = train_recipe(with_overrides(base, overrides), os.path.join(tmp, str(i)),
                                  verbose=0, export=False)
            wall = time.time() - started
            m = result.metrics
            rows.append((name, m["test_accuracy"], m["member_test_accuracy"], wall, load))
            print(f"{name:<28} test accuracy {m['test_accuracy']:.4f}  members {m['member_test_accuracy']}  "
                  f"wall {wall:.0f} s  load {load:.1f}", flush=True)
    single = rows[0][1]
    lines = ["# Single model vs EMA vs snapshot ensemble vs independent ensemble", "",
             f"Default recipe, {'full' if args.limit_examples is None else args.limit_examples} Fashion-MNIST "
             f"training data, {args.epochs} epochs per model, seed 0 (members: seeds 0..{args.members - 1}), "
             "2 CPU cores.", "",
             "| arm | test accuracy | vs single (points) | single members / snapshots | wall time (s) | load before |",
             "| --- | ---: | ---: | --- | ---: | ---: |"]
    for name, acc, members, wall, load in rows:
        lines.append(f"| {name} | {acc:.4f} | {100 * (acc - single):+.2f} | "
                     f"{', '.join(f'{a:.4f}' for a in members)} | {wall:.0f} | {load:.1f} |")
    lines += ["", f"Command: `.venv/bin/python benchmarks/ensemble_comparison.py --epochs {args.epochs} "
              f"--members {args.members} --snapshots {args.snapshots}`"]
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(rows, f, indent=1)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
