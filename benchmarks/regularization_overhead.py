"""Slowdown of a training epoch with the full regularization stack on vs off.

Same recipe, data, seed and machine, in one process; arms alternate so that
machine load hits both alike. The ratio is of the median epoch wall time
(`epoch_seconds`, first epoch excluded: it includes tracing).

    .venv/bin/python benchmarks/regularization_overhead.py --epochs 3 --limit-examples 12000 --repeats 2
"""

import argparse
import os
import statistics
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from deeprob_keras.recipe import load_recipe, with_overrides  # noqa: E402
from deeprob_keras.training import train_recipe  # noqa: E402

OFF = {"augmentation.flip": False}
FULL = {
    "augmentation.flip": True, "augmentation.scale_min": 28, "augmentation.scale_max": 32,
    "augmentation.crop_size": 28, "augmentation.random_erasing": 0.5,
    "augmentation.randaugment_ops": 2, "augmentation.mixup_alpha": 0.2, "augmentation.cutmix_alpha": 1.0,
    "regularization.label_smoothing": 0.1, "model.head_dropout": 0.3, "model.stochastic_depth": 0.1,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=os.path.join(ROOT, "recipes", "fashion_mnist.yaml"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit-examples", type=int, default=12000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "regularization_overhead.md"))
    args = parser.parse_args()
    base = load_recipe(args.recipe)
    common = {"training.epochs": args.epochs, "data.limit_examples": args.limit_examples,
              "schedule.warmup_epochs": 0.0, "callbacks.backup": False}
    times = {"off": [], "full": []}
    accuracy = {"off": [], "full": []}
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for arm, overrides in (("off", OFF), ("full", FULL)):
                recipe = with_overrides(base, {**common, **overrides})
                result = train_recipe(recipe, os.path.join(tmp, f"{arm}{r}"), verbose=0, export=False)
                epoch_seconds = result.history["epoch_seconds"][1:] or result.history["epoch_seconds"]
                times[arm].extend(epoch_seconds)
                accuracy[arm].append(result.metrics["test_accuracy"])
                print(f"repeat {r} {arm:<4} median epoch {statistics.median(epoch_seconds):6.2f} s  "
                      f"test accuracy {result.metrics['test_accuracy']:.4f}", flush=True)
    load.append(os.getloadavg()[0])
    off, full = statistics.median(times["off"]), statistics.median(times["full"])
    table = [
        "# Full regularization stack: epoch slowdown",
        "",
        f"Recipe `{os.path.relpath(args.recipe, ROOT)}`, {args.limit_examples} training images, "
        f"{args.epochs} epochs x {args.repeats} repeats per arm (alternating), seed 0, 2 CPU cores; "
        f"1-min load average {load[0]:.1f} before, {load[1]:.1f} after.",
        "Full stack: flip, scale 28-32 + crop 28, random erasing 0.5, RandAugment N=2, Mixup 0.2 | CutMix 1.0, "
        "label smoothing 0.1, head dropout 0.3, stochastic depth 0.1.",
        "",
        "| arm | median epoch (s) | ratio | test accuracy (mean) |",
        "| --- | ---: | ---: | ---: |",
        f"| off | {off:.2f} | 1.00 | {statistics.mean(accuracy['off']):.4f} |",
        f"| full stack | {full:.2f} | {full / off:.2f} | {statistics.mean(accuracy['full']):.4f} |",
        "",
        f"Command: `.venv/bin/python benchmarks/regularization_overhead.py --epochs {args.epochs} "
        f"--limit-examples {args.limit_examples} --repeats {args.repeats}`",
    ]
    with open(args.out, "w") as f:
        f.write("\n".join(table) + "\n")
    print("\n".join(table))
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
