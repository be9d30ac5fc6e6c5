"""The idle gap between two epochs of `fit`, with tf.data's autotuning model on and off, side by side.

In TensorFlow 2.16 each iterator of an autotuned dataset runs a thread that
sleeps between optimizations for periods that double from 10 ms up to 60 s;
deleting the iterator the way Keras does at the end of each epoch waits for
that sleep to end, with the CPU idle (found with gdb during such a stall: the
main thread in `RootDataset::Iterator::~Iterator` joining the thread in
`Model::OptimizeLoop`). `deeprob_keras.data.pipelines.without_autotune_thread`
turns the model off for every dataset the library builds. This trains a recipe
for a few epochs twice, each arm in its own process, in turn: `autotune` (that
function replaced by the identity: TensorFlow's default) and `library` (as
shipped), and records each epoch's wall time and the gap from its end (after
validation, and after a `predict` on the test split with `--predict-each-epoch`,
as `time_to_accuracy.py` does) to the next epoch's first step.

    .venv/bin/python benchmarks/epoch_gap.py [--recipe recipes/fashion_mnist.yaml] [--epochs 3] \\
        [--predict-each-epoch] [--out benchmarks/results/epoch_gap.md]

Writes the .md and a .json beside it.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))  # the sibling scripts, by their names
import results_io  # noqa: E402

ARMS = ("autotune", "library")


def run_arm(arm, recipe_path, epochs, limit_examples, out_dir, predict_each_epoch=False):
    """Trains in this process; returns `{"epoch_seconds": [...], "gap_seconds": [...], "predict_seconds": [...],
    "fit_seconds"}`."""
    import keras

    from deeprob_keras.data import pipelines
    from deeprob_keras.recipe import load_recipe, with_overrides
    from deeprob_keras.training.run import load_recipe_datasets, train_recipe

    if arm == "autotune":
        pipelines.without_autotune_thread = lambda ds: ds  # TensorFlow's default: the autotuning model on
    overrides = {"training.epochs": epochs}
    if limit_examples:
        overrides["data.limit_examples"] = limit_examples
    recipe = with_overrides(load_recipe(recipe_path), overrides)
    record = {"epoch_seconds": [], "gap_seconds": [], "predict_seconds": []}
    test = load_recipe_datasets(recipe, 512).test if predict_each_epoch else None

    class Gaps(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.begun = self.ended = None

        def on_epoch_begin(self, epoch, logs=None):
            self.begun = time.perf_counter()

        def on_train_batch_begin(self, batch, logs=None):
            if batch == 0 and self.ended is not None:  # the previous epoch's iterator is gone by now
                record["gap_seconds"].append(time.perf_counter() - self.ended)
                self.ended = None

        def on_epoch_end(self, epoch, logs=None):
            record["epoch_seconds"].append(time.perf_counter() - self.begun)
            if test is not None:  # as time_to_accuracy.py's test curve does, between two epochs
                started = time.perf_counter()
                self.model.predict(test, verbose=0)
                record["predict_seconds"].append(time.perf_counter() - started)
            self.ended = time.perf_counter()

    started = time.perf_counter()
    train_recipe(recipe, out_dir, verbose=0, export=False, extra_callbacks=[Gaps()])
    record["fit_seconds"] = time.perf_counter() - started
    return record


def report_lines(result):
    lines = ["# The idle gap between epochs: tf.data's autotuning model on and off", "",
             f"`{result['recipe']}` for {result['epochs']} epochs"
             + (f" on {result['limit_examples']} examples" if result["limit_examples"] else "")
             + (", a `predict` on the test split after each epoch" if result.get("predict_each_epoch") else "")
             + ", each arm in its own process, one after the other. Gap: from an epoch's end (after "
               "validation and any `predict`) to the next epoch's first step, where Keras deletes the epoch's iterator. "
               "`autotune`: TensorFlow's default; `library`: the datasets as `deeprob_keras` builds "
               "them (`without_autotune_thread`).", "",
             "| arm | epoch seconds | predict seconds | gaps between epochs (s) | train_recipe wall time (s) |",
             "|---|---|---|---|---:|"]
    for arm in ARMS:
        r = result["arms"][arm]
        predicts = ", ".join(f"{s:.1f}" for s in r.get("predict_seconds", [])) or "-"
        lines.append(f"| {arm} | {', '.join(f'{s:.1f}' for s in r['epoch_seconds'])} | {predicts} | "
                     f"{', '.join(f'{s:.2f}' for s in r['gap_seconds'])} | {r['fit_seconds']:.1f} |")
    a, b = result["arms"]["autotune"], result["arms"]["library"]
    lines += ["", f"Median gap: {statistics.median(a['gap_seconds']):.2f} s with the autotuning model, "
                  f"{statistics.median(b['gap_seconds']):.2f} s without; median epoch "
                  f"{statistics.median(a['epoch_seconds']):.1f} s and {statistics.median(b['epoch_seconds']):.1f} s.",
              "", f"Load average (1, 5, 15 min) before: {result['load_before']}; after: {result['load_after']}. "
                  f"{result['when']}.", "", f"Command: `{result['command']}`", ""]
    return lines


def _load():
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=os.path.join("recipes", "fashion_mnist.yaml"))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--limit-examples", type=int, default=None, help="override data.limit_examples (smoke)")
    parser.add_argument("--predict-each-epoch", action="store_true",
                        help="predict the test split after each epoch (what time_to_accuracy.py does)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "epoch_gap.md"))
    parser.add_argument("--arm", choices=ARMS, default=None, help=argparse.SUPPRESS)  # one arm, in a child
    parser.add_argument("--arm-json", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.epochs < 2:
        parser.error(f"--epochs: expected at least 2 (a gap needs two epochs). Received: {args.epochs}")
    if not os.path.exists(args.recipe):
        parser.error(f"recipe not found: {args.recipe}")
    if args.arm:  # the child: train, write the record
        with tempfile.TemporaryDirectory() as out_dir:
            record = run_arm(args.arm, args.recipe, args.epochs, args.limit_examples, out_dir,
                             args.predict_each_epoch)
        results_io.write_json(args.arm_json, record)
        return 0
    load_before = _load()
    arms = {}
    with tempfile.TemporaryDirectory() as tmp:
        for arm in ARMS:
            path = os.path.join(tmp, f"{arm}.json")
            cmd = [sys.executable, os.path.abspath(__file__), "--recipe", args.recipe, "--epochs", str(args.epochs),
                   "--arm", arm, "--arm-json", path]
            if args.limit_examples:
                cmd += ["--limit-examples", str(args.limit_examples)]
            if args.predict_each_epoch:
                cmd.append("--predict-each-epoch")
            print(f"epoch_gap: {arm} arm", flush=True)
            subprocess.run(cmd, check=True)
            with open(path) as f:
                arms[arm] = json.load(f)
    command = " ".join([".venv/bin/python benchmarks/epoch_gap.py"] + (argv if argv is not None else sys.argv[1:]))
    result = {"recipe": args.recipe, "epochs": args.epochs, "limit_examples": args.limit_examples,
              "predict_each_epoch": args.predict_each_epoch, "arms": arms,
              "load_before": load_before, "load_after": _load(),
              "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": command}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    results_io.write_json(results_io.json_beside(args.out), result)
    with open(args.out, "w") as f:
        f.write("\n".join(report_lines(result)))
    print("\n".join(report_lines(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
