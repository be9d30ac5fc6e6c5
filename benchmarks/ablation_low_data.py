"""Low-data ablation: the lecture's regularizers on 100 and 500 training images per class.

The regime where regularization should matter: a stratified subset of
`--per-class` K images of every class (`data.examples_per_class`, drawn with the
run's seed from the training part of the 60,000 training images, after the 10%
validation split is carved out; the same subset for every arm at a given seed),
the recipe's usual validation split (6,000 images: choose and compare there),
the 10,000-image test set reported once per run.

Baseline: recipes/fashion_mnist.yaml with no regularization but BatchNorm
(L2 off, flip off, no augmentation, no label smoothing), final weights (no
best-epoch restore, no early stopping: every arm ends at the same step). Arms
switch one technique on (`ARMS` below; values fixed in advance, not tuned);
`flip+tta` is the `flip` arm's trained model evaluated with flip test-time
augmentation (same model, so the TTA effect is paired); `best` combines the arms
whose mean VALIDATION accuracy beat the baseline (never the test set).

Equal optimizer steps: every arm runs exactly `--steps` steps of `batch_size`
images. `train_recipe` counts whole epochs, so the training subset is repeated
(reshuffled at every pass) and cut into virtual epochs of `epoch_steps` full
batches, the largest divisor of `--steps` not above `--eval-every`;
`training.epochs = steps / epoch_steps`. Validation, the learning-rate schedule
(warmup = 1 virtual epoch, cosine to zero at `--steps`) and the training-loss
curve are per virtual epoch.

Train-validation gap: the final model evaluated on the un-augmented training
subset minus its validation accuracy, the same way for every arm.

Writes benchmarks/results/ablation_low_data.{json,md,png}. Resumable: the JSON
is written after every run and a rerun skips runs already there with the same
settings; `--arms` / `--only ARM[:SEED]` run parts, and `--budget-minutes`
stops before a run that would not fit (rerun the same command to go on).

    .venv/bin/python benchmarks/ablation_low_data.py --per-class 100 500 --steps 1500 --seeds 3
    .venv/bin/python benchmarks/ablation_low_data.py --per-class 100 --only baseline:0,l2
"""

import argparse
import dataclasses
import json
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))  # the sibling scripts, by their names

import numpy as np  # noqa: E402

import ablation as _ablation  # noqa: E402

load_results, save_results = _ablation.load_results, _ablation.save_results
_T = _ablation.TECHNIQUES  # the full-data ablation's arms: same values here


def _same(name):
    return _T[name][1](None)


# arm -> (label, overrides, what the lecture expects). The baseline's overrides are `base_overrides`.
ARMS = {
    "baseline": ("baseline (BatchNorm, no regularization)", {}, "reference: large train-validation gap expected"),
    "no_bn": ("-BatchNorm", {"model.batch_norm": False},
              "hurts: BatchNorm regularizes (batch noise) and eases optimization"),
    "l2": ("+L2 5e-4", {"regularization.penalty": "l2", "regularization.l2": 5e-4},
           "helps when the gap is large (weight decay)"),
    "dropout": (_T["dropout"][0], _same("dropout"), "helps when the gap is large"),
    "dropconnect": ("+DropConnect head 0.5", {"model.head": "dropconnect", "model.head_dropconnect": 0.5},
                    "helps, like dropout"),
    "fmp": ("+fractional max pooling, 8-pass test average",
            {"model.pooling": "fractional_max", "model.fractional_pooling_test_samples": 8},
            "helps: random pooling regions in training, averaged at test time"),
    "stochastic_depth": (_T["stochastic_depth"][0], _same("stochastic_depth"),
                         "helps deep nets; small on a 3-block net"),
    "flip_crop": (_T["flip_crop"][0], _same("flip_crop"), "helps most with little data (more distinct images)"),
    "erasing": (_T["erasing"][0], _same("erasing"), "helps"),
    "mixup": (_T["mixup"][0], _same("mixup"), "helps, more so in long runs"),
    "cutmix": (_T["cutmix"][0], _same("cutmix"), "helps, more so in long runs"),
    "randaugment": ("+RandAugment N=2, M=0.5", {"augmentation.randaugment_ops": 2,
                                                 "augmentation.randaugment_magnitude": 0.5},
                    "helps with little data"),
    "label_smoothing": (_T["label_smoothing"][0], _same("label_smoothing"), "small help (less confident outputs)"),
    "ema": (_T["ema"][0], _same("ema"), "small help (averaged weights)"),
    "flip": ("+flip", {"augmentation.flip": True}, "helps (mirror images are new data)"),
    "flip+tta": ("+flip, +flip TTA (the flip models)", {"augmentation.flip": True},
                 "helps over flip (averaging two views)"),
    "best": ("best combination (chosen on validation)", {}, "helps most: regularizers add up when the gap is large"),
}
# The sign of the lecture's expectation against the baseline (every arm but no_bn adds a regularizer).
EXPECTED_SIGN = {a: (-1 if a == "no_bn" else 1) for a in ARMS if a != "baseline"}
TRAINED = [a for a in ARMS if a not in ("flip+tta", "best")]  # `flip+tta` comes from the `flip` runs
# Alternatives of which `best` keeps the one with the higher validation accuracy.
EXCLUSIVE = (("mixup", "cutmix"), ("dropout", "dropconnect"), ("flip_crop", "flip"))


def epoch_steps_for(steps, eval_every):
    """The largest divisor of `steps` that is <= `eval_every`: steps per virtual epoch."""
    return max(d for d in range(1, min(steps, eval_every) + 1) if steps % d == 0)


def base_overrides(recipe, per_class, epochs, widths):
    """Every arm's starting point: the recipe without its regularizers, K per class, final weights."""
    o = {"data.examples_per_class": per_class, "data.limit_examples": None,
         "training.epochs": epochs, "augmentation.flip": False, "augmentation.tta": "none",
         "regularization.penalty": "none", "regularization.l2": 0.0, "regularization.l1": 0.0,
         "regularization.label_smoothing": 0.0, "callbacks.restore_best": False,
         "callbacks.early_stopping_patience": None, "callbacks.backup": True}
    if widths:
        o["model.widths"] = list(widths)
    return o


def settings_of(args, recipe):
    return {"recipe": os.path.relpath(os.path.abspath(args.recipe), ROOT), "steps": args.steps,
            "batch_size": recipe.training.batch_size, "epoch_steps": epoch_steps_for(args.steps, args.eval_every),
            "widths": list(args.widths) if args.widths else None,
            "validation_fraction": recipe.data.validation_fraction}


def _stats(values):
    v = np.array([x for x in values if x is not None], dtype=float)
    if not len(v):
        return None, None, 0
    return float(v.mean()), (float(v.std(ddof=1)) if len(v) > 1 else None), len(v)


def arm_runs(runs, per_class, settings):
    """arm -> its runs at this size and settings (`flip+tta` derived from the `flip` runs)."""
    by = {}
    for r in runs:
        if r["per_class"] == per_class and r["settings"] == settings:
            by.setdefault(r["arm"], []).append(r)
    if "flip" in by:
        by["flip+tta"] = [dict(r, arm="flip+tta", metrics=r["tta_metrics"]) for r in by["flip"]
                          if r.get("tta_metrics")]
    return {a: sorted(rs, key=lambda r: r["seed_index"]) for a, rs in by.items() if rs}


def compare(arm_vals, base_vals):
    """Delta of means, its standard error and the 2-standard-error verdict."""
    a_mean, a_std, a_n = _stats(arm_vals)
    b_mean, b_std, b_n = _stats(base_vals)
    if a_mean is None or b_mean is None:
        return None, None, "n/a"
    delta = a_mean - b_mean
    if a_std is None or b_std is None:
        return delta, None, "n/a (1 seed)"
    se = math.sqrt(a_std ** 2 / a_n + b_std ** 2 / b_n)
    verdict = "beats" if delta > 2 * se else "hurts" if delta < -2 * se else "within noise"
    return delta, se, verdict


def agreement(arm, verdict):
    """Does a measured verdict go the lecture's way? ('yes', 'no', 'no difference measured' or '')."""
    if arm not in EXPECTED_SIGN or verdict not in ("beats", "hurts", "within noise"):
        return ""
    if verdict == "within noise":
        return "no difference measured"
    return "yes" if (verdict == "beats") == (EXPECTED_SIGN[arm] > 0) else "no"


def summarize(runs, per_class, settings):
    by = arm_runs(runs, per_class, settings)
    base = by.get("baseline", [])
    out = []
    for arm in ARMS:
        rs = by.get(arm)
        if not rs:
            continue
        ok = [r for r in rs if not r.get("diverged")]
        row = {"arm": arm, "label": label_of(arm, rs[-1]), "expected": ARMS[arm][2], "n": len(ok),
               "diverged": len(rs) - len(ok), "steps": sorted({r["steps_run"] for r in rs}),
               "wall": float(np.mean([r["wall_seconds"] for r in rs]))}
        for key in ("test_accuracy", "val_accuracy", "gap"):
            row[key] = _stats([r["metrics"][key] for r in ok])
            if arm != "baseline":
                row["d_" + key] = compare([r["metrics"][key] for r in ok],
                                          [r["metrics"][key] for r in base if not r.get("diverged")])
        out.append(row)
    return out


def best_combination(runs, per_class, settings):
    """The single-technique arms whose mean validation accuracy beat the baseline's, combined.

    An arm qualifies when it beats the baseline by more than 2 standard errors;
    when none does (or only one seed has run), the arms with a higher mean. Of
    exclusive alternatives (`EXCLUSIVE`) the higher validation accuracy stays;
    flip TTA is added when `flip+tta` qualifies and beats `flip` on validation.
    """
    rows = {r["arm"]: r for r in summarize(runs, per_class, settings)}
    if "baseline" not in rows:
        return None, "no baseline result yet"
    singles = [a for a in rows if a not in ("baseline", "no_bn", "best")]
    strong = [a for a in singles if rows[a]["d_val_accuracy"][2] == "beats"]
    chosen, why = strong, "arms beating the baseline's validation accuracy by more than 2 standard errors"
    if not chosen:
        chosen = [a for a in singles if (rows[a]["d_val_accuracy"][0] or 0.0) > 0]
        why = "no arm beat the baseline by 2 standard errors on validation: arms with a higher mean validation accuracy"
    if not chosen:
        return None, "no arm beat the baseline on validation"
    val = {a: rows[a]["val_accuracy"][0] for a in rows}
    tta = "flip+tta" in chosen and val["flip+tta"] > val.get("flip", -1.0)
    chosen = [a for a in chosen if a != "flip+tta"]
    if tta and not any(a in chosen for a in ("flip", "flip_crop")):
        chosen.append("flip")
    for group in EXCLUSIVE:
        present = [a for a in group if a in chosen]
        if len(present) > 1:
            keep = max(present, key=lambda a: val[a])
            chosen = [a for a in chosen if a not in present or a == keep]
    parts = [a for a in ARMS if a in chosen] + (["flip_tta"] if tta else [])
    return parts, why


def arm_overrides(arm, runs, per_class, settings):
    if arm != "best":
        return dict(ARMS[arm][1]), None
    parts, why = best_combination(runs, per_class, settings)
    if parts is None:
        return None, {"parts": [], "why": why}
    o = {}
    for p in parts:
        o.update({"augmentation.tta": "flip"} if p == "flip_tta" else ARMS[p][1])
    return o, {"parts": parts, "why": why}


def overrides_parts(overrides):
    """A short, stable folder name for a combination's overrides."""
    return [k.split(".")[-1] for k in sorted(overrides)]


def label_of(arm, run):
    if arm == "best":
        return "best: " + " + ".join(run.get("best", {}).get("parts", []))
    return ARMS[arm][0]


class _StepCounter:
    """A Keras callback counting optimizer steps (built lazily: keras is imported on first use)."""

    @staticmethod
    def make():
        import keras

        class StepCounter(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.steps = 0

            def on_train_batch_end(self, batch, logs=None):
                self.steps += 1

        return StepCounter()


def step_data_fn(epoch_steps, captured):
    """A `train_recipe` data_fn: the recipe's datasets, training batches drawn from the repeated subset.

    The subset is shuffled at every pass, repeated, batched with full batches and
    cut into `epoch_steps` batches per (virtual) epoch; `num_examples["train"]`
    is set to `epoch_steps * batch` so that the run plan counts `epoch_steps`
    steps per epoch (the real subset size is `len(train_arrays[1])`).
    """
    import tensorflow as tf

    from deeprob_keras.data.pipelines import finish_batches, preprocess_images
    from deeprob_keras.training.plan import label_form
    from deeprob_keras.training.run import load_recipe_datasets

    def data_fn(recipe, global_batch_size, image_fn=None, batch_fn=None):
        d = load_recipe_datasets(recipe, global_batch_size, image_fn, batch_fn)
        x, y = d.train_arrays
        ds = (tf.data.Dataset.from_tensor_slices((x, y))
              .shuffle(len(y), seed=recipe.seed, reshuffle_each_iteration=True).repeat()
              .batch(global_batch_size, drop_remainder=True).take(epoch_steps))

        def preprocess(images, labels):
            return preprocess_images(images, recipe.data.image_size, recipe.data.channels), labels

        ds = ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
        train = finish_batches(ds, True, d.num_classes, label_form(recipe) == "one_hot", image_fn, batch_fn)
        d = dataclasses.replace(d, train=train,
                                num_examples={**d.num_examples, "train": epoch_steps * global_batch_size})
        captured["datasets"] = d
        return d

    return data_fn


def _evaluate(model, d, test=None):
    """Test, validation and clean-training accuracy of `model` (`test` when already measured)."""
    val = float(model.evaluate(d.validation, verbose=0)[1])
    train = float(model.evaluate(d.train_plain, verbose=0)[1])
    test = float(model.evaluate(d.test, verbose=0)[1]) if test is None else float(test)
    return {"test_accuracy": test, "val_accuracy": val, "train_accuracy": train, "gap": train - val}


def run_arm(arm, seed_index, per_class, overrides, args, settings, work_dir):
    from deeprob_keras.augment import TestTimeAugmentation
    from deeprob_keras.recipe import load_recipe, with_overrides
    from deeprob_keras.training import run_dir
    from deeprob_keras.training.run import TrainingDiverged, train_recipe

    recipe = load_recipe(args.recipe)
    epochs = args.steps // settings["epoch_steps"]
    o = {**base_overrides(recipe, per_class, epochs, args.widths), **overrides,
         "seed": recipe.seed + seed_index, "name": f"low_data_{arm}_k{per_class}"}
    recipe = with_overrides(recipe, o)
    captured, counter = {}, _StepCounter.make()
    load_before, started = os.getloadavg(), time.time()
    record = {"arm": arm, "seed_index": seed_index, "seed": recipe.seed, "per_class": per_class,
              "overrides": overrides, "epochs": epochs}
    name = arm if arm != "best" else "best_" + "_".join(overrides_parts(overrides))
    out_dir = os.path.join(work_dir, f"k{per_class}", name, f"s{seed_index}")
    if run_dir.run_status(out_dir, recipe) == "other":  # this benchmark's own folder, left by other settings
        run_dir.clear_run(out_dir)
    try:
        result = train_recipe(recipe, out_dir, verbose=0, export=False,
                              data_fn=step_data_fn(settings["epoch_steps"], captured), extra_callbacks=[counter])
    except TrainingDiverged as err:
        record.update(diverged=str(err), metrics={"test_accuracy": None, "val_accuracy": None, "gap": None})
    else:
        d = captured["datasets"]
        record["metrics"] = {**_evaluate(result.model, d, test=result.metrics["test_accuracy"]),
                             "train_seconds": result.metrics["train_seconds"],
                             "parameters": result.metrics["parameters"]}
        if arm == "flip":  # the same model, with flip TTA: the paired `flip+tta` arm
            tta = TestTimeAugmentation(result.model, mode="flip")
            tta.compile(loss=result.model.loss, metrics=["accuracy"])
            record["tta_metrics"] = _evaluate(tta, d)
        h = result.history
        record["curve"] = {"step": [(i + 1) * settings["epoch_steps"] for i in range(len(h.get("loss", [])))],
                           **{k: [float(v) for v in h[k]] for k in ("loss", "accuracy", "val_loss", "val_accuracy")
                              if k in h}}
        labels = np.asarray(d.train_arrays[1])
        record["train_images"] = int(len(labels))
        record["class_counts"] = np.bincount(labels, minlength=d.num_classes).tolist()
        record["num_examples"] = {"train": int(len(labels)), "validation": d.num_examples["validation"],
                                  "test": d.num_examples["test"]}
    record["steps_planned"] = epochs * settings["epoch_steps"]
    record["steps_run"] = counter.steps  # counted by a callback; a resumed run counts only the steps after its resume
    record.update(wall_seconds=time.time() - started, load_before=list(load_before), load_after=list(os.getloadavg()))
    return record


def _fmt(stat, digits=4):
    mean, std, _ = stat
    if mean is None:
        return "–"
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def _fmt_delta(d):
    delta, se, verdict = d
    if delta is None:
        return "", ""
    return f"{100 * delta:+.2f}" + (f" (se {100 * se:.2f})" if se is not None else ""), verdict


def section(data, per_class, settings):
    rows = summarize(data["runs"], per_class, settings)
    if not rows:
        return []
    by = arm_runs(data["runs"], per_class, settings)
    n_train = next((r["train_images"] for rs in by.values() for r in rs if r.get("train_images")), per_class * 10)
    spe = settings["epoch_steps"]
    lines = [f"## {per_class} images per class ({n_train:,} training images)", "",
             f"Recipe `{settings['recipe']}`, {settings['steps']} optimizer steps per run at batch "
             f"{settings['batch_size']} ({settings['steps'] * settings['batch_size'] / n_train:.0f} passes over the "
             f"subset), {settings['steps'] // spe} virtual epochs of {spe} steps (validation after each), warmup "
             f"1 virtual epoch then cosine to zero, final weights"
             + (f", widths {settings['widths']}" if settings["widths"] else "") + ". "
             f"Validation: {settings['validation_fraction']:.0%} of the 60,000 training images; test: 10,000 images.",
             ""]
    last = [r["command"] for r in data["runs"] if r["per_class"] == per_class and r["settings"] == settings
            and r.get("command")][-1:]
    if last:  # runs are kept in the order they finished
        lines += [f"Command of this size's last run: `{last[0]}` (rerun it to reproduce; finished runs are kept).", ""]
    base = by.get("baseline")
    if base and base[0].get("curve", {}).get("loss"):
        loss = base[0]["curve"]["loss"]
        half = loss[(len(loss) - 1) // 2]
        lines += [f"Baseline training loss (seed {base[0]['seed_index']}, mean over each virtual epoch): "
                  f"{loss[0]:.3f} after {spe} steps, {half:.3f} after {spe * ((len(loss) + 1) // 2)} steps, "
                  f"{loss[-1]:.3f} at the end; clean "
                  f"training accuracy {base[0]['metrics']['train_accuracy']:.4f} (curve: right panel of the plot).",
                  ""]
    base_row = next((r for r in rows if r["arm"] == "baseline"), None)
    if base_row and base_row["gap"][0] is not None:
        g = base_row["gap"][0]
        lines += [f"Baseline train − validation gap {100 * g:.1f} points: "
                  + ("large, so the lecture expects the regularizers to help." if g > 0.05 else
                     "small, so the lecture expects little from regularizers (the model underfits rather than "
                     "overfits)."), ""]
    lines += ["| arm | lecture expects | seeds | test accuracy | validation accuracy | train − val gap | "
              "Δ test (pt) | test verdict | as expected? | Δ val (pt) | val verdict | steps | s/run |",
              "|---|---|---:|---:|---:|---:|---:|---|---|---:|---|---:|---:|"]
    for r in rows:
        dt, vt = _fmt_delta(r.get("d_test_accuracy", (None, None, "")))
        dv, vv = _fmt_delta(r.get("d_val_accuracy", (None, None, "")))
        seeds = f"{r['n']}" + (f" (+{r['diverged']} diverged)" if r["diverged"] else "")
        lines.append(f"| {r['label']} | {r['expected']} | {seeds} | {_fmt(r['test_accuracy'])} | "
                     f"{_fmt(r['val_accuracy'])} | {_fmt(r['gap'])} | {dt} | {vt} | {agreement(r['arm'], vt)} | "
                     f"{dv} | {vv} | {'/'.join(map(str, r['steps']))} | {r['wall']:.0f} |")
    best = by.get("best")
    if best:
        b = best[-1]["best"]
        lines += ["", f"best = {' + '.join(b['parts'])}: {b['why']}. Chosen on validation, so its validation "
                  "accuracy is optimistic; its test accuracy is not."]
    lines += ["", "<details><summary>every run</summary>", "",
              "| arm | seed | test | validation | gap | steps | seconds | load avg start → end |",
              "|---|---:|---:|---:|---:|---:|---:|---|"]
    for arm, rs in by.items():
        for r in rs:
            m = r["metrics"]
            acc = (f"{m['test_accuracy']:.4f} | {m['val_accuracy']:.4f} | {m['gap']:+.4f}"
                   if m.get("test_accuracy") is not None else "diverged | | ")
            lines.append(f"| {arm} | {r['seed_index']} | {acc} | {r['steps_run']} | {r['wall_seconds']:.0f} | "
                         f"{r['load_before'][0]:.1f} → {r['load_after'][0]:.1f} |")
    lines += ["", "</details>", ""]
    return lines


def write_report(data, settings, sizes, out_dir, command):
    lines = ["# Low-data ablation: the lecture's regularizers on 100 and 500 images per class", "",
             "Stratified training subsets (`data.examples_per_class`, drawn with the run's seed from the training "
             "part after the validation split; identical for every arm at a given seed), every arm at the same "
             "number of optimizer steps, mean ± sample std over seeds (3 at the full settings). "
             "Gap = accuracy of the final model on the "
             "un-augmented training subset minus its validation accuracy. Δ = arm − baseline in points; verdict "
             "'beats' / 'hurts' when |Δ| > 2 standard errors, else 'within noise'. flip+tta is the flip arm's models "
             "evaluated with flip TTA (paired with flip). fmp averages 8 random-region passes at test time. "
             "s/run: wall seconds of the whole run (training, per-epoch validation, final evaluations); "
             "the machine (2 cores) is shared, see the load averages.", "",
             f"Latest command: `{command}`", "", "![low-data ablation](ablation_low_data.png)", ""]
    present = sorted({r["per_class"] for r in data["runs"] if r["settings"] == settings} | set(sizes))
    for k in present:
        lines += section(data, k, settings)
    md = os.path.join(out_dir, "ablation_low_data.md")
    with open(md, "w") as f:
        f.write("\n".join(lines) + "\n")
    try:
        plot(data, settings, present, os.path.join(out_dir, "ablation_low_data.png"))
    except Exception as err:  # the table is the result; a plot failure must not lose it
        print(f"ablation_low_data: plot failed: {err}", flush=True)
    return md


def plot(data, settings, sizes, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [k for k in sizes if summarize(data["runs"], k, settings)]
    fig, axes = plt.subplots(1, len(sizes) + 1, figsize=(5.5 * len(sizes) + 5, 0.32 * len(ARMS) + 2.5),
                             squeeze=False)
    axes = axes[0]
    for ax, k in zip(axes, sizes):
        rows = [r for r in summarize(data["runs"], k, settings) if r["test_accuracy"][0] is not None]
        y = np.arange(len(rows))[::-1]
        for offset, key, color in ((0.2, "test_accuracy", "tab:blue"), (-0.2, "val_accuracy", "tab:orange")):
            means = [r[key][0] for r in rows]
            errs = [r[key][1] or 0.0 for r in rows]
            ax.barh(y + offset, means, height=0.38, xerr=errs, color=color, label=key.replace("_", " "))
        base = next((r for r in rows if r["arm"] == "baseline"), None)
        if base:
            ax.axvline(base["test_accuracy"][0], color="k", lw=0.8, ls="--")
        ax.set_yticks(y)
        ax.set_yticklabels([r["arm"] for r in rows], fontsize=8)
        lo = min(min(r["test_accuracy"][0], r["val_accuracy"][0]) for r in rows)
        hi = max(max(r["test_accuracy"][0], r["val_accuracy"][0]) for r in rows)
        ax.set_xlim(max(0.0, lo - 0.03), min(1.0, hi + 0.02))
        ax.set_xlabel("accuracy (mean ± std over seeds)")
        ax.set_title(f"{k} per class, {settings['steps']} steps")
        ax.legend(fontsize=7, loc="lower right")
    ax = axes[-1]
    for k in sizes:
        for r in arm_runs(data["runs"], k, settings).get("baseline", []):
            c = r.get("curve", {})
            if c.get("loss"):
                ax.plot(c["step"], c["loss"], label=f"{k}/class seed {r['seed_index']}")
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("baseline training loss (per virtual epoch)")
    ax.set_title("baseline: has the training loss plateaued?")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def merge_runs(data, others):
    """Adds to `data` the runs of `others` (results of parallel parts, each run by its own process with
    its own --out) that it lacks, keyed by (size, arm, seed, settings); returns how many were added."""
    def key(r):
        return r["per_class"], r["arm"], r["seed_index"], json.dumps(r["settings"], sort_keys=True)

    have = {key(r) for r in data["runs"]}
    added = 0
    for other in others:
        for r in other["runs"]:
            if key(r) not in have:
                data["runs"].append(r)
                have.add(key(r))
                added += 1
    return added


def parse_only(text):
    """'baseline:0,l2' -> [('baseline', 0), ('l2', None)]."""
    out = []
    for token in (t.strip() for t in text.split(",") if t.strip()):
        arm, _, seed = token.partition(":")
        out.append((arm, int(seed) if seed else None))
    return out


def jobs_for(arms, seeds, sizes, only):
    """(per_class, arm, seed_index) in run order: per size, every seed of the single arms, then best."""
    trained = [a if a != "flip+tta" else "flip" for a in arms]
    trained = [a for a in TRAINED if a in trained]
    jobs = []
    for k in sizes:
        jobs += [(k, a, s) for s in range(seeds) for a in trained]
        if "best" in arms:
            jobs += [(k, "best", s) for s in range(seeds)]
    if only:
        wanted = [("flip" if a == "flip+tta" else a, s) for a, s in only]
        jobs = [j for j in jobs if any(j[1] == a and (s is None or j[2] == s) for a, s in wanted)]
    return jobs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, nargs="+", default=[100, 500], help="subset sizes K (images per class)")
    parser.add_argument("--steps", type=int, default=1500, help="optimizer steps of every run")
    parser.add_argument("--eval-every", type=int, default=100, help="at most this many steps per virtual epoch")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated subset of {list(ARMS)}")
    parser.add_argument("--only", default=None, help="ARM[:SEED],... run only these (e.g. baseline:0,l2)")
    parser.add_argument("--widths", type=int, nargs="+", default=None, help="override model.widths (tiny runs)")
    parser.add_argument("--recipe", default=os.path.join(ROOT, "recipes", "fashion_mnist.yaml"))
    parser.add_argument("--budget-minutes", type=float, default=110.0,
                        help="start no run that would end after this (estimated from the runs so far)")
    parser.add_argument("--work-dir", default=os.path.join(ROOT, "runs", "bench_ablation_low_data"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    parser.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                        help="first add the runs of these ablation_low_data.json files (parts run in parallel with "
                             "--only ... --out DIR) to --out's, then go on as usual")
    args = parser.parse_args(argv)
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    only = parse_only(args.only) if args.only else []
    unknown = [a for a in arms + [a for a, _ in only] if a not in ARMS]
    if unknown:
        parser.error(f"unknown arms {unknown}; choose from {list(ARMS)}")
    if args.steps < 1 or args.seeds < 1 or args.eval_every < 1 or any(k < 1 for k in args.per_class):
        parser.error("--steps, --seeds, --eval-every and --per-class must be >= 1")
    if any(s is not None and not 0 <= s < args.seeds for _, s in only):
        parser.error(f"--only seeds must be in 0..{args.seeds - 1}")
    from deeprob_keras.recipe import load_recipe

    recipe = load_recipe(args.recipe)
    settings = settings_of(args, recipe)
    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, "ablation_low_data.json")
    data = load_results(json_path)
    if args.merge:
        missing = [p for p in args.merge if not os.path.exists(p)]
        if missing:
            parser.error(f"--merge: no such file {missing[0]}")
        added = merge_runs(data, [load_results(p) for p in args.merge])
        save_results(data, json_path)
        print(f"ablation_low_data: merged {added} run(s) from {len(args.merge)} file(s) into {json_path}", flush=True)
    command = ".venv/bin/python benchmarks/ablation_low_data.py " + " ".join(argv if argv is not None else sys.argv[1:])
    tag = f"steps{args.steps}_e{settings['epoch_steps']}" + ("_w" + "-".join(map(str, args.widths)) if args.widths else "")
    work_dir = os.path.join(args.work_dir, tag)
    jobs = jobs_for(arms, args.seeds, args.per_class, only)
    print(f"ablation_low_data: {len(jobs)} runs (per class {args.per_class}), {args.steps} steps each in virtual "
          f"epochs of {settings['epoch_steps']}; results -> {json_path}", flush=True)
    started, walls = time.time(), [r["wall_seconds"] for r in data["runs"] if r["settings"] == settings]
    for k, arm, s in jobs:
        overrides, best_info = arm_overrides(arm, data["runs"], k, settings)
        if overrides is None:
            print(f"  k={k:<4} best seed {s}: skipped ({best_info['why']})", flush=True)
            continue
        done = next((r for r in data["runs"] if r["arm"] == arm and r["seed_index"] == s and r["per_class"] == k
                     and r["settings"] == settings and r["overrides"] == json.loads(json.dumps(overrides))), None)
        if done is None:
            estimate = float(np.median(walls)) if walls else 0.0
            if time.time() - started + estimate > 60 * args.budget_minutes:
                print(f"ablation_low_data: stopping before {arm} seed {s} (k={k}): --budget-minutes "
                      f"{args.budget_minutes:g} would be exceeded; rerun the same command to continue", flush=True)
                break
            run = run_arm(arm, s, k, overrides, args, settings, work_dir)
            run.update(settings=settings, command=command)
            if best_info:
                run["best"] = best_info
            data["runs"] = [r for r in data["runs"] if not (r["arm"] == arm and r["seed_index"] == s and
                                                            r["per_class"] == k and r["settings"] == settings)] + [run]
            save_results(data, json_path)
            walls.append(run["wall_seconds"])
            status = ""
        else:
            run, status = done, " (from ablation_low_data.json)"
        m = run["metrics"]
        acc = (f"test {m['test_accuracy']:.4f}  val {m['val_accuracy']:.4f}  gap {m['gap']:+.4f}"
               if m.get("test_accuracy") is not None else "diverged")
        print(f"  k={k:<4} {arm:<17} seed {s}  {acc}  {run['steps_run']} steps  {run['wall_seconds']:.0f} s  "
              f"load {run['load_before'][0]:.1f}->{run['load_after'][0]:.1f}{status}", flush=True)
        write_report(data, settings, args.per_class, args.out, command)
    md = write_report(data, settings, args.per_class, args.out, command)
    print(f"ablation_low_data: table {md}, plot {os.path.join(args.out, 'ablation_low_data.png')}, raw {json_path}",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
