"""Which shifted test-time views to average, chosen on the validation split of several trained models.

`benchmarks/tta_modes.py` compares the library's TTA modes one model at a
time. This one asks a narrower question for a recipe trained with flips and
translations: which set of (flip, shift) views to average. Each model's base
network predicts every single view once (both flips x shifts of up to 2
pixels, zero fill: `deeprob_keras.augment.test_time_augmentation.shift_images`)
on the recipe's validation split and on the test split; every view set below
is then the mean of its views' probabilities, so adding a set costs nothing.
The choice is the set with the best validation accuracy averaged over the
models; the test column is reported, never used to choose.

Per-view probabilities are cached (`--cache-dir`, one `.npz` per model and
`--limit`), so a rerun only evaluates the sets again.

    .venv/bin/python benchmarks/tta_views.py --models runs/bench_tta_fixed/fashion_mnist_fast_4stage_wide_pr28_seed0/model.keras ...
"""

import argparse
import hashlib
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import results_io  # noqa: E402

SHIFTS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)] + [
    (2, 2), (-2, -2), (2, -2), (-2, 2), (0, 2), (0, -2), (2, 0), (-2, 0)]
BOTH = (0, 1)  # without and with the horizontal flip
CROSS1 = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))
VIEW_SETS = {  # name: [(flip, dy, dx)]; the library's modes are named as in `TestTimeAugmentation`
    "none": [(0, 0, 0)],
    "flip": [(f, 0, 0) for f in BOTH],
    "flip_translate (diagonal, 1 px)": [(f, d, d) for f in BOTH for d in (0, 1, -1)],
    "anti-diagonal, 1 px": [(f, d, -d) for f in BOTH for d in (0, 1, -1)],
    "both diagonals, 1 px": [(f, 0, 0) for f in BOTH] + [(f, a, b) for f in BOTH for a in (1, -1) for b in (1, -1)],
    "flip_cross (1 px)": [(f, dy, dx) for f in BOTH for dy, dx in CROSS1],
    "3x3 grid, 1 px": [(f, a, b) for f in BOTH for a in (-1, 0, 1) for b in (-1, 0, 1)],
    "flip_translate (diagonal, 2 px)": [(f, d, d) for f in BOTH for d in (0, 2, -2)],
    "diagonal, 1 and 2 px": [(f, d, d) for f in BOTH for d in (0, 1, -1, 2, -2)],
    "flip_cross (2 px)": [(f, dy, dx) for f in BOTH for dy, dx in ((0, 0), (2, 0), (-2, 0), (0, 2), (0, -2))],
    "cross, 1 and 2 px": [(f, dy, dx) for f in BOTH for dy, dx in CROSS1 + ((2, 0), (-2, 0), (0, 2), (0, -2))],
}


def view_key(split, flip, dy, dx):
    return f"{split}_{flip}_{dy}_{dx}"


def _cache_path(cache_dir, model_path, limit):
    digest = hashlib.sha1(f"{os.path.abspath(model_path)}|{limit}".encode()).hexdigest()[:12]
    return os.path.join(cache_dir, f"{os.path.basename(os.path.dirname(os.path.abspath(model_path)))}_{digest}.npz")


def view_probabilities(model_path, limit=None, batch=500):
    """{view_key: probabilities} of every (flip, shift) in SHIFTS on validation and test, plus the labels."""
    import keras
    from keras import ops

    import deeprob_keras
    import tta_modes
    from deeprob_keras.augment.test_time_augmentation import shift_images

    model = tta_modes._base_network(deeprob_keras.load_model(model_path))
    val, test = tta_modes.evaluation_arrays(tta_modes._recipe_of(model_path), limit)
    out = {}
    for split, (x, y) in (("val", val), ("test", test)):
        out[f"{split}_y"] = np.asarray(y)
        for flip in BOTH:
            images = ops.flip(ops.convert_to_tensor(x), axis=2) if flip else ops.convert_to_tensor(x)
            for dy, dx in SHIFTS:
                view = keras.ops.convert_to_numpy(shift_images(images, dy, dx))
                out[view_key(split, flip, dy, dx)] = model.predict(view, batch_size=batch, verbose=0).astype(np.float32)
    return out


def set_accuracy(probs, views, split):
    mean = sum(probs[view_key(split, *v)] for v in views) / len(views)
    return float(np.mean(np.argmax(mean, axis=1) == probs[f"{split}_y"]))


def evaluate(per_model):
    """Rows {set, views, validation: [...], test: [...], validation_mean, test_mean}; the chosen set's name."""
    rows = []
    for name, views in VIEW_SETS.items():
        val = [set_accuracy(p, views, "val") for p in per_model]
        test = [set_accuracy(p, views, "test") for p in per_model]
        rows.append({"set": name, "views": len(views), "validation": val, "test": test,
                     "validation_mean": float(np.mean(val)), "test_mean": float(np.mean(test))})
    chosen = max(rows, key=lambda r: r["validation_mean"])["set"]  # the first on a tie: fewer views listed first
    return rows, chosen


def report_lines(data):
    rows, chosen = data["rows"], data["chosen"]
    lines = ["# Shifted test-time views, chosen on validation", "",
             "Each model's base network predicts every (flip, shift) view once; a view set averages its views' "
             "probabilities. Chosen: the best mean validation accuracy over the models (the test split chose "
             "nothing).", "",
             "Models: " + ", ".join(f"`{m}`" for m in data["models"]) + ".", "",
             "| view set | views | validation, each model | validation mean | test, each model | test mean |",
             "|---|---:|---|---:|---|---:|"]
    for r in rows:
        mark = " **(chosen)**" if r["set"] == chosen else ""
        lines.append(f"| {r['set']}{mark} | {r['views']} | {' '.join(f'{v:.4f}' for v in r['validation'])} | "
                     f"{r['validation_mean']:.4f} | {' '.join(f'{v:.4f}' for v in r['test'])} | {r['test_mean']:.4f} |")
    best = next(r for r in rows if r["set"] == chosen)
    runner_up = sorted(r["validation_mean"] for r in rows)[-2]
    n_val = data["validation_images"]
    lines += ["", f"The chosen set leads the next one on validation by {best['validation_mean'] - runner_up:.4f} "
              f"({(best['validation_mean'] - runner_up) * n_val:.1f} of {n_val:,} validation images per model): "
              "a choice, not a significant difference.", "",
              f"Load average (1, 5, 15 min) before: {data['load_before']}; after: {data['load_after']}.", "",
              f"Command: `{data['command']}`", ""]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", required=True, help=".keras files, each beside its run's recipe.yaml")
    parser.add_argument("--limit", type=int, default=None, help="first N validation and test images (smoke runs)")
    parser.add_argument("--cache-dir", default=os.path.join(ROOT, "runs", "tta_views_cache"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "tta_views.md"))
    args = parser.parse_args(argv)
    import tta_modes

    for path in args.models:
        if not os.path.exists(path):
            parser.error(f"model not found: {path}")
        if tta_modes._recipe_of(path) is None:
            parser.error(f"no recipe.yaml beside {path}: give the model of a run directory")
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    os.makedirs(args.cache_dir, exist_ok=True)
    per_model = []
    for path in args.models:
        cache = _cache_path(args.cache_dir, path, args.limit)
        if not os.path.exists(cache):
            started = time.perf_counter()
            probs = view_probabilities(path, args.limit)
            np.savez(cache + ".tmp.npz", **probs)
            os.replace(cache + ".tmp.npz", cache)  # a killed run leaves no half-written cache
            print(f"tta_views: {path}: {len(SHIFTS) * len(BOTH)} views in {time.perf_counter() - started:.0f} s",
                  flush=True)
        with np.load(cache) as f:
            per_model.append({k: f[k] for k in f.files})
    rows, chosen = evaluate(per_model)
    data = {"rows": rows, "chosen": chosen, "models": [os.path.relpath(os.path.abspath(p), ROOT) for p in args.models],
            "validation_images": int(len(per_model[0]["val_y"])), "load_before": load_before,
            "load_after": " ".join(f"{x:.1f}" for x in os.getloadavg()),
            "command": " ".join([".venv/bin/python", "benchmarks/tta_views.py"] + (argv if argv is not None
                                                                                  else sys.argv[1:]))}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    results_io.write_json(results_io.json_beside(args.out), data)
    with open(args.out, "w") as f:
        f.write("\n".join(report_lines(data)))
    print("\n".join(report_lines(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
