"""Test-time augmentation modes on trained models: accuracy against inference cost.

For each trained model (`--models`, `.keras` files written by `deeprob train`
or benchmarks/time_to_accuracy.py) and each mode of
`deeprob_keras.augment.TestTimeAugmentation` (none, flip, flip_translate, flip_cross,
ten_crop, scales, multi_scale_crops: the lecture's resize-to-several-scales
then 10 crops at the input size), measures validation and test accuracy
and inference images per second (views included), in one process, one mode
after another on the same batches. A model saved with TTA is unwrapped to
its base network first. The validation split is the recipe's (same seed,
same fraction), so a choice of mode can be made there, never on test.

Writes benchmarks/results/tta_modes.{md,json}.

    .venv/bin/python benchmarks/tta_modes.py --models runs/bench_time_to_accuracy/fashion_mnist_seed0/model.keras
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

MODES = ("none", "flip", "flip_translate", "flip_cross", "ten_crop", "scales", "multi_scale_crops")


def mode_args(mode, side):
    """`TestTimeAugmentation` arguments of `mode` for square images of `side` pixels (None: the network
    alone). For 28x28: ten crops of 24; scales 24 and 32; multi-scale crops at 28, 30, 32, 34, 36."""
    if mode == "none":
        return None
    if mode in ("flip", "flip_translate", "flip_cross"):
        return {"mode": mode}
    if mode == "ten_crop":
        return {"mode": mode, "crop_size": round(side * 6 / 7)}
    if mode == "scales":
        return {"mode": mode, "scales": [round(side * 6 / 7), round(side * 8 / 7)]}
    return {"mode": mode, "scales": sorted({round(side * f) for f in (1, 15 / 14, 8 / 7, 17 / 14, 9 / 7)})}


def views_of(args):
    if args is None:
        return 1
    if args["mode"] == "multi_scale_crops":
        return 10 * len(args["scales"])
    return {"flip": 2, "flip_translate": 6, "flip_cross": 10, "ten_crop": 10}.get(args["mode"], len(args.get("scales", [])))


def _base_network(model):
    while hasattr(model, "base_model"):
        model = model.base_model
    return model


def _recipe_of(model_path):
    """The resolved recipe saved beside the model (`recipe.yaml` of its run), or None."""
    from deeprob_keras.recipe import load_recipe

    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "recipe.yaml")
    return load_recipe(path) if os.path.exists(path) else None


def evaluation_arrays(recipe, limit=None):
    """(validation images, labels), (test images, labels) preprocessed as the recipe trains."""
    from deeprob_keras.data import load_arrays, preprocess_images
    from deeprob_keras.data.pipelines import split_validation

    d = recipe.data
    (x_train, y_train), (x_test, y_test), _ = load_arrays(d.dataset)
    _, (x_val, y_val) = split_validation(x_train, y_train, d.validation_fraction, recipe.seed)
    if limit:
        x_val, y_val, x_test, y_test = x_val[:limit], y_val[:limit], x_test[:limit], y_test[:limit]
    prep = lambda x: np.asarray(preprocess_images(x, d.image_size, d.channels))  # noqa: E731
    return (prep(x_val), y_val), (prep(x_test), y_test)


def measure(model, mode, val, test, batch=500):
    from deeprob_keras.augment import TestTimeAugmentation

    args = mode_args(mode, int(test[0].shape[1]))
    wrapped = model if args is None else TestTimeAugmentation(model, **args)
    wrapped.predict(test[0][:batch], batch_size=batch, verbose=0)  # trace once, outside the timing
    out = {"mode": mode, "views": views_of(args), "args": args}
    for split, (x, y) in (("validation", val), ("test", test)):
        started = time.perf_counter()
        probs = wrapped.predict(x, batch_size=batch, verbose=0)
        seconds = time.perf_counter() - started
        out[f"{split}_accuracy"] = float(np.mean(np.argmax(probs, axis=1) == y))
        if split == "test":
            out["images_per_second"] = len(y) / seconds
    return out


def write_report(data, out):
    lines = ["# Test-time augmentation: accuracy against inference cost", "",
             "Each trained model's base network evaluated with each mode of `TestTimeAugmentation` "
             "(probabilities averaged over the views). Images/s: test images per second of `predict` "
             "(batch 500, views included), one mode after another in one process. Validation: the "
             "recipe's own split (choose a mode there); test: the 10,000 test images.", ""]
    for m in data["models"]:
        lines += [f"## {m['model']}", "",
                  f"Trained with: flip {m['trained_with']['flip']}, translate {m['trained_with']['translate']}, "
                  f"scale crops {m['trained_with']['scale']}.", "",
                  "| mode | views | validation accuracy | test accuracy | change on test (points) | images/s | cost |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        base = next(r for r in m["modes"] if r["mode"] == "none")
        for r in m["modes"]:
            lines.append(f"| {r['mode']} | {r['views']} | {r['validation_accuracy']:.4f} | {r['test_accuracy']:.4f} | "
                         f"{100 * (r['test_accuracy'] - base['test_accuracy']):+.2f} | {r['images_per_second']:,.0f} | "
                         f"{base['images_per_second'] / r['images_per_second']:.1f}x |")
        lines.append("")
    lb, la = data["load_before"], data["load_after"]
    modes = {r["mode"]: r["args"] for m in data["models"] for r in m["modes"] if r["args"]}
    lines += ["Modes: " + "; ".join(f"{k}: {v}" for k, v in modes.items()) + ".", "",
              f"Load average (1, 5, 15 min) before: {lb[0]:.1f} {lb[1]:.1f} {lb[2]:.1f}; after: "
              f"{la[0]:.1f} {la[1]:.1f} {la[2]:.1f}.", "", f"Command: `{data['command']}`", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", required=True, help=".keras files, each beside its run's recipe.yaml")
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--limit", type=int, default=None, help="first N validation and test images (smoke runs)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "tta_modes.md"))
    args = parser.parse_args(argv)
    for path in args.models:
        if not os.path.exists(path):
            parser.error(f"model not found: {path}")
        if _recipe_of(path) is None:
            parser.error(f"no recipe.yaml beside {path}: give the model of a run directory")
    import deeprob_keras

    data = {"command": ".venv/bin/python benchmarks/tta_modes.py " + " ".join(
        argv if argv is not None else sys.argv[1:]), "load_before": list(os.getloadavg()), "models": []}
    for path in args.models:
        recipe = _recipe_of(path)
        model = _base_network(deeprob_keras.load_model(path))
        val, test = evaluation_arrays(recipe, args.limit)
        aug = recipe.augmentation
        entry = {"model": os.path.relpath(os.path.abspath(path), ROOT), "recipe": recipe.name,
                 "trained_with": {"flip": aug.flip, "translate": aug.translate,
                                  "scale": f"{aug.scale_min}-{aug.scale_max}" if aug.scale_min else "no"},
                 "modes": []}
        for mode in args.modes if "none" in args.modes else ["none"] + args.modes:
            entry["modes"].append(measure(model, mode, val, test))
            print(f"tta_modes: {recipe.name} {mode}: test {entry['modes'][-1]['test_accuracy']:.4f}", flush=True)
        data["models"].append(entry)
    data["load_after"] = list(os.getloadavg())
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    results_io.write_json(results_io.json_beside(args.out), data)
    print(open(write_report(data, args.out)).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
