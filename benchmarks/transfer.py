"""Transfer learning at equal optimizer steps: scratch vs feature extraction vs fine-tuning vs stage probes,
from a converged and a weak source backbone.

Sources: the small ResNet of recipes/pretrain_fashion_0_4.yaml (Fashion-MNIST classes 0-4),
"strong" = all images for `--strong-epochs` (cosine to zero; its validation curve, in the report, shows
the plateau) and "weak" = `--weak-examples` images for `--weak-epochs`, so the table also tests
"better pretrained models transfer better". Targets: Fashion-MNIST classes 5-9 (similar) and sklearn
digits upsampled to 28x28 (very different), with 10 / 100 / 1000 training examples per class (digits
has ~130 per class, so no 1000). Every arm of a cell gets the same number of optimizer steps S
(S = clip(`--epochs-equivalent` x steps per epoch, `--min-steps`, `--max-steps`), batch 64, SGD 0.05
with the recipe's cosine decay over exactly S steps):

- scratch: the same ResNet, random init, S steps;
- feature extraction: frozen backbone, new linear head, S steps;
- fine-tune top: S/2 steps head only, then S/2 steps of stage2 + head at 0.1x LR (BN in inference mode);
- fine-tune all: the same with the whole backbone trainable;
- best stage probe: linear classifiers on stage0 / stage1 / stage2 / features (Adam, 30 epochs on the
  frozen features), the stage picked on the validation split, its test accuracy reported.

Test accuracy is also recorded at 10 evenly spaced steps of "scratch" and "fine-tune all" (whose first
half is its head-only phase) for the accuracy-vs-steps plot; the test set is never used to choose
anything. Each cell is checked against the lecture's decision table (`deeprob_keras.transfer.advise`).
Writes benchmarks/results/transfer.{md,json,png} and transfer_curves.png. Resumable: finished
(cell, seed) runs and the pretrained sources are kept (JSON, <work-dir>/pretrain_*), so the same
command continues an interrupted study; `--targets` / `--sizes` split it into shorter invocations.

    .venv/bin/python benchmarks/transfer.py [--seeds 0 1 2] [--strong-epochs 15] [--weak-epochs 1]
        [--weak-examples 2500] [--targets similar different] [--sizes 10 100 1000]
"""

import argparse
import csv
import dataclasses
import json
import math
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))  # the sibling scripts, by their names

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from deeprob_keras.recipe import load_recipe, recipe_from_dict, with_overrides  # noqa: E402
from deeprob_keras.training import build_compiled_model, load_recipe_datasets, train_recipe  # noqa: E402
from deeprob_keras.training.plan import RunPlan  # noqa: E402
from deeprob_keras.transfer import advise, probe_accuracies  # noqa: E402
import results_io  # noqa: E402

ARMS = ("scratch", "feature extraction", "fine-tune top", "fine-tune all", "best stage probe")
TRANSFER_ARMS = ARMS[1:]
BACKBONES = ("strong", "weak")
TARGETS = {
    "similar": ("Fashion-MNIST 5-9 (similar)",
                {"dataset": "fashion_mnist", "classes": [5, 6, 7, 8, 9], "validation_fraction": 0.02}),
    "different": ("digits 28x28 (different)", {"dataset": "digits", "image_size": 28, "validation_fraction": 0.1}),
}
SIZES = {"similar": (10, 100, 1000), "different": (10, 100)}
BATCH = 64
POINTS = 10  # test accuracy recorded at this many evenly spaced steps of the curve arms (an even number)
NOTES = """Notes: every arm of a cell takes the same optimizer steps (the fine-tune arms: half head-only, half
fine-tuning). The probes use Adam for 30 epochs on standardized frozen features, while "feature extraction"
trains the same kind of linear head with the recipe's SGD for S steps: the gap between them is head
optimization, not features. "features" = pooled stage2, so those two probes agree."""
# The lecture's four choices and the arm of this benchmark that implements each.
ADVICE_ARM = {"linear_top": "feature extraction", "fine_tune_few": "fine-tune top",
              "fine_tune_many": "fine-tune all", "probe_stages": "best stage probe"}


def cell_steps(n_train, epochs_equivalent, min_steps, max_steps):
    """Optimizer steps of every arm of a cell: `epochs_equivalent` passes over the data, clipped to
    [min_steps, max_steps], rounded up to a multiple of POINTS (the curve's evenly spaced points)."""
    steps = min(max(epochs_equivalent * math.ceil(n_train / BATCH), min_steps), max_steps)
    return int(math.ceil(steps / POINTS) * POINTS)


def base_recipe(data, seed, model=None, transfer=None):
    d = {"name": "bench", "seed": seed, "data": data, "model": model or {"name": "small_resnet"},
         "optimizer": {"name": "sgd", "learning_rate": 0.05}, "schedule": {"name": "cosine"},
         "regularization": {"penalty": "l2", "l2": 1e-4}, "training": {"epochs": 1, "batch_size": BATCH}}
    if transfer:
        d["transfer"] = transfer
    return recipe_from_dict(d)


def fit_steps(recipe, data, steps, points, curve=False):
    """Fits the recipe's model for exactly `steps` optimizer steps (its schedule spans them), in `points`
    chunks; returns (model, test accuracy, test accuracy after each chunk or None)."""
    keras.utils.set_random_seed(recipe.seed)
    plan = RunPlan.from_recipe(recipe, data.num_examples["train"], 1, batch_size=BATCH)
    plan = dataclasses.replace(plan, steps_per_epoch=steps // points, epochs=points)
    model, _ = build_compiled_model(recipe, data, tf.distribute.get_strategy(), plan=plan)
    history = model.fit(data.train.repeat(), steps_per_epoch=steps // points, epochs=points, verbose=0,
                        validation_data=data.test if curve else None)
    per_chunk = [float(a) for a in history.history["val_accuracy"]] if curve else None
    return model, float(model.evaluate(data.test, verbose=0)[1]), per_chunk


def _history_column(path, column):
    with open(path) as f:
        return [float(row[column]) for row in csv.DictReader(f) if row.get(column)]


def pretrain(name, epochs, examples, work_dir):
    """The source backbone `name` (classes 0-4 of Fashion-MNIST), trained once and reused from
    <work_dir>/pretrain_<name>; returns its description (model path, test accuracy, validation curve)."""
    out = os.path.join(work_dir, f"pretrain_{name}")
    metrics_path = os.path.join(out, "metrics.json")
    if not os.path.exists(metrics_path):
        print(f"transfer: pretraining the {name} source on Fashion-MNIST 0-4: {examples or 'all'} images, "
              f"{epochs} epoch(s)", flush=True)
        recipe = with_overrides(load_recipe(os.path.join(ROOT, "recipes", "pretrain_fashion_0_4.yaml")),
                                {"training.epochs": epochs, "data.limit_examples": examples or None,
                                 "callbacks.backup": False})
        train_recipe(recipe, out, verbose=2, export=False)
    with open(metrics_path) as f:
        metrics = json.load(f)
    return {"name": name, "epochs": epochs, "examples": examples or None, "model": metrics["paths"]["model"],
            "test_accuracy": metrics["test_accuracy"],
            "val_curve": _history_column(os.path.join(out, "history.csv"), "val_accuracy")}


def run_transfer_arms(data_spec, data, backbone, seed, steps, tmp):
    """The four arms that use `backbone` on one cell; returns {arm: test accuracy, "curves", "probes", ...}."""
    half = steps // 2
    out = {"curves": {}}
    transfer = {"backbone": backbone, "cut_layer": "features"}
    fe = base_recipe(data_spec, seed, {"name": "backbone"}, {**transfer, "mode": "feature_extraction"})
    _, out["feature extraction"], _ = fit_steps(fe, data, steps, POINTS)
    head_model, _, head_curve = fit_steps(fe, data, half, POINTS // 2, curve=True)
    head_path = os.path.join(tmp, f"head_{seed}.keras")
    head_model.save(head_path)
    for arm, freeze in (("fine-tune top", {"freeze_until": "stage1"}), ("fine-tune all", {"freeze_fraction": 0.0})):
        ft = base_recipe(data_spec, seed, {"name": "backbone"},
                         {**transfer, "mode": "fine_tune", "lr_factor": 0.1, "initial_model": head_path, **freeze})
        _, out[arm], curve = fit_steps(ft, data, steps - half, POINTS // 2, curve=arm == "fine-tune all")
        if curve:
            out["curves"][arm] = head_curve + curve
    source = keras.saving.load_model(backbone, compile=False)
    probes = probe_accuracies(source, ["stage0", "stage1", "stage2", "features"], data, epochs=30, seed=seed)
    best = max(probes, key=lambda k: probes[k]["validation"])
    out["best stage probe"] = probes[best]["test"]
    out["best stage"] = best
    out["probes"] = {k: v["test"] for k, v in probes.items()}
    return out


def run_setting(data_spec, backbones, seed, tmp, step_policy):
    """One cell and seed: scratch once, then every transfer arm from each source backbone."""
    data = load_recipe_datasets(base_recipe(data_spec, seed), BATCH)
    n = data.num_examples["train"]
    steps = cell_steps(n, *step_policy)
    out = {"seed": seed, "n_train": n, "steps": steps,
           "steps_per_phase": {"head": steps // 2, "fine_tune": steps - steps // 2}, "backbones": {}}
    _, out["scratch"], out["scratch curve"] = fit_steps(base_recipe(data_spec, seed), data, steps, POINTS, curve=True)
    for name, info in backbones.items():
        out["backbones"][name] = run_transfer_arms(data_spec, data, info["model"], seed, steps, tmp)
    return out


def arm_values(runs, arm, backbone):
    """Test accuracies of `arm` over a cell's runs (scratch does not depend on the backbone)."""
    return np.array([r["scratch"] if arm == "scratch" else r["backbones"][backbone][arm] for r in runs])


def _cell(values):
    return f"{values.mean():.3f}" + (f" ± {values.std(ddof=1):.3f}" if len(values) > 1 else "")


def better_source_rows(results):
    """Per cell and transfer arm: strong minus weak source, with a 2-standard-error verdict."""
    rows = []
    for key, runs in results["settings"].items():
        for arm in TRANSFER_ARMS:
            strong, weak = arm_values(runs, arm, "strong"), arm_values(runs, arm, "weak")
            gap = float(strong.mean() - weak.mean())
            verdict = ""
            if len(runs) > 1:
                se = float(np.sqrt(strong.var(ddof=1) / len(runs) + weak.var(ddof=1) / len(runs)))
                verdict = "strong better" if gap > 2 * se else "weak better" if gap < -2 * se else "no difference"
            rows.append({"cell": key, "arm": arm, "strong": float(strong.mean()), "weak": float(weak.mean()),
                         "gap": gap, "verdict": verdict})
    return rows


def lecture_check(results, backbone="strong"):
    """One row per setting: the lecture's advice, the arm implementing it, the best arm, and the verdict."""
    from deeprob_keras.transfer import similarity_from_probes

    rows = []
    for key, runs in results["settings"].items():
        target, epc = key.rsplit(" @ ", 1)
        given = "similar" if "similar" in target else "different"
        probes = {s: float(np.mean([r["backbones"][backbone]["probes"][s] for r in runs]))
                  for s in runs[0]["backbones"][backbone]["probes"]}
        measured = similarity_from_probes(probes, top_layer="features")
        advice = advise(int(epc), given)
        values = {arm: arm_values(runs, arm, backbone) for arm in ARMS}
        means = {arm: float(v.mean()) for arm, v in values.items()}
        stds = {arm: float(v.std(ddof=1)) if len(v) > 1 else 0.0 for arm, v in values.items()}
        advised_arm = ADVICE_ARM[advice.choice]
        best_arm = max(means, key=means.get)
        gap = means[best_arm] - means[advised_arm]
        verdict = "holds" if gap <= max(0.01, stds[advised_arm]) else f"does not hold (-{gap:.3f})"
        rows.append({"target": target, "epc": epc, "measured": measured, "choice": advice.choice,
                     "advised_arm": advised_arm, "advised": means[advised_arm], "best_arm": best_arm,
                     "best": means[best_arm], "verdict": verdict})
    return rows


def write_report(results, command, seconds, out_dir):
    sources = results["backbones"]
    lines = ["# Transfer learning at equal optimizer steps", "",
             "Sources: small ResNet (widths 16/32/64, ~78k parameters) pretrained on Fashion-MNIST classes 0-4:"]
    for name, b in sources.items():
        curve = b["val_curve"]
        tail = f"; validation accuracy of its last 3 epochs {np.mean(curve[-3:]):.3f}, best {max(curve):.3f}" \
            if curve else ""
        lines.append(f"- **{name}**: {b['examples'] or 'all'} images, {b['epochs']} epoch(s), source test accuracy "
                     f"{b['test_accuracy']:.3f}{tail}.")
    lines += ["", f"Test accuracy, mean ± std over the seeds of each cell. Every arm of a cell takes the same S "
              "optimizer steps (batch 64); fine-tune arms: S/2 steps head only, then S/2 fine-tuning at 0.1x LR, "
              "BatchNorm in inference mode. Best stage chosen on the validation split.", ""]
    for name in sources:
        lines += [f"## From the {name} source", "",
                  "| target | examples/class | n train | seeds | S (head + fine-tune) | " + " | ".join(ARMS)
                  + " | best stage |", "|---|---:|---:|---:|---:|" + "---:|" * len(ARMS) + "---|"]
        for key, runs in results["settings"].items():
            target, epc = key.rsplit(" @ ", 1)
            phases = runs[0]["steps_per_phase"]
            cells = [_cell(arm_values(runs, arm, name)) for arm in ARMS]
            stages = ", ".join(sorted({r["backbones"][name]["best stage"] for r in runs}))
            lines.append(f"| {target} | {epc} | {runs[0]['n_train']} | {len(runs)} | {runs[0]['steps']} "
                         f"({phases['head']} + {phases['fine_tune']}) | " + " | ".join(cells) + f" | {stages} |")
        lines.append("")
    lines += ["## Do better pretrained models transfer better?", "",
              "Strong minus weak source, same cell, same arm; verdict at 2 standard errors.", "",
              "| cell | arm | strong | weak | strong - weak | verdict |", "|---|---|---:|---:|---:|---|"]
    for row in better_source_rows(results):
        lines.append("| {cell} | {arm} | {strong:.3f} | {weak:.3f} | {gap:+.3f} | {verdict} |".format(**row))
    for name in sources:
        lines += ["", f"## Where the lecture's table holds ({name} source)", "",
                  "Advice = `deeprob_keras.transfer.advise(examples per class, similarity)` (the lecture's table); "
                  "similarity as designed (Fashion 5-9 similar, digits different) and as measured by "
                  "`similarity_from_probes` (top-layer probe within 0.02 of the best stage probe = similar). "
                  "\"holds\" = the advised arm is the best arm or within max(0.01, its std) of it.", "",
                  "| target | examples/class | measured similarity | advice | advised arm | best arm | verdict |",
                  "|---|---:|---|---|---:|---:|---|"]
        for row in lecture_check(results, name):
            lines.append("| {target} | {epc} | {measured} | {choice} | {advised_arm} {advised:.3f} | "
                         "{best_arm} {best:.3f} | {verdict} |".format(**row))
    lines += ["", "![arms](transfer.png)", "", "![accuracy against steps](transfer_curves.png)", "", NOTES, "",
              f"Wall time of the invocation that wrote this: {seconds / 60:.1f} min; load average "
              f"{results.get('load_before', [0])[0]:.1f} before, {os.getloadavg()[0]:.1f} after.", "",
              f"Command of the invocation that wrote this: `{command}`. The whole study (resumable: finished "
              "cells and seeds are kept, `--targets` / `--sizes` split it): "
              "`.venv/bin/python benchmarks/transfer.py --seeds 0 1 2`.", ""]
    md = os.path.join(out_dir, "transfer.md")
    with open(md, "w") as f:
        f.write("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    png = os.path.join(out_dir, "transfer.png")
    keys = list(results["settings"])
    bars = [("scratch", "strong")] + [(arm, name) for name in sources for arm in TRANSFER_ARMS]
    fig, ax = plt.subplots(figsize=(12, 4.5))
    width = 0.8 / len(bars)
    for i, (arm, name) in enumerate(bars):
        means = [arm_values(results["settings"][k], arm, name).mean() for k in keys]
        label = arm if arm == "scratch" else f"{arm} ({name})"
        ax.bar(np.arange(len(keys)) + i * width, means, width, label=label, hatch="//" if name == "weak" else None)
    ax.set_xticks(np.arange(len(keys)) + 0.4 - width / 2)
    ax.set_xticklabels([k.replace(" @ ", "\n") + "/class" for k in keys], fontsize=8)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, ncol=5, loc="upper center", bbox_to_anchor=(0.5, 1.18))
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
    curves_png = os.path.join(out_dir, "transfer_curves.png")
    plot_curves(results, curves_png, plt)
    return md, png, curves_png


def plot_curves(results, path, plt):
    """Test accuracy against optimizer steps: scratch vs fine-tune all from each source."""
    keys = list(results["settings"])
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 3.2), squeeze=False)
    lines = [("scratch", None, "tab:gray", "scratch")] + [
        ("fine-tune all", name, color, f"transfer, {name} source (head, then all)")
        for name, color in zip(results["backbones"], ("tab:red", "tab:orange"))]
    for ax, key in zip(axes[0], keys):
        runs = results["settings"][key]
        steps = runs[0]["steps"]
        x = steps * np.arange(1, POINTS + 1) / POINTS
        for arm, name, color, label in lines:
            curves = np.array([r["scratch curve"] if name is None else r["backbones"][name]["curves"][arm]
                               for r in runs])
            ax.plot(x, curves.mean(axis=0), color=color, label=label)
            if len(runs) > 1:
                ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.2)
        ax.axvline(steps / 2, color="k", lw=0.7, ls=":")
        ax.set_title(key.replace(" @ ", "\n") + "/class", fontsize=8)
        ax.set_xlabel("optimizer steps")
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("test accuracy")
    axes[0][0].legend(fontsize=6, loc="lower right")
    fig.suptitle("Test accuracy against steps: mean over seeds, band = min..max; dotted = fine-tuning starts",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strong-epochs", type=int, default=15)
    parser.add_argument("--strong-examples", type=int, default=0, help="0 = all of classes 0-4")
    parser.add_argument("--weak-epochs", type=int, default=1)
    parser.add_argument("--weak-examples", type=int, default=2500)
    parser.add_argument("--targets", nargs="+", choices=list(TARGETS), default=list(TARGETS))
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help="examples per class (default: 10 100 1000; digits stops at 100)")
    parser.add_argument("--epochs-equivalent", type=int, default=20,
                        help="S = this many passes over the cell's training data, clipped to the bounds below")
    parser.add_argument("--min-steps", type=int, default=300)
    parser.add_argument("--max-steps", type=int, default=2000)
    parser.add_argument("--work-dir", default=os.path.join(ROOT, "runs", "bench_transfer"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = parser.parse_args(argv)
    for name in ("strong_epochs", "weak_epochs", "epochs_equivalent", "min_steps", "max_steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.min_steps > args.max_steps:
        parser.error(f"--min-steps ({args.min_steps}) is above --max-steps ({args.max_steps})")
    started = time.time()
    os.makedirs(args.out, exist_ok=True)
    json_path = os.path.join(args.out, "transfer.json")
    config = {"strong": [args.strong_epochs, args.strong_examples], "weak": [args.weak_epochs, args.weak_examples],
              "steps": [args.epochs_equivalent, args.min_steps, args.max_steps]}
    results = {"config": config, "settings": {}}
    saved = results_io.read_json(json_path)
    if saved is not None:
        if saved.get("config") == config:
            results = saved
            print(f"transfer: continuing {json_path} ({sum(map(len, saved['settings'].values()))} runs there)",
                  flush=True)
        else:
            raise SystemExit(f"transfer: {json_path} holds a study with other sources or steps ({saved.get('config')}); "
                             "move it away to start a new one")
    results["load_before"] = list(os.getloadavg())
    results["backbones"] = {
        "strong": pretrain("strong", args.strong_epochs, args.strong_examples, args.work_dir),
        "weak": pretrain("weak", args.weak_epochs, args.weak_examples, args.work_dir)}
    for name, b in results["backbones"].items():
        print(f"transfer: {name} source: test accuracy {b['test_accuracy']:.4f}", flush=True)
    command = ".venv/bin/python benchmarks/transfer.py " + " ".join(argv if argv is not None else sys.argv[1:])
    step_policy = (args.epochs_equivalent, args.min_steps, args.max_steps)
    with tempfile.TemporaryDirectory() as tmp:
        for target in args.targets:
            label, data = TARGETS[target]
            for epc in args.sizes or SIZES[target]:
                if target == "different" and epc > 130:
                    print(f"transfer: digits has ~130 images per class: {epc} per class skipped", flush=True)
                    continue
                key = f"{label} @ {epc}"
                for seed in args.seeds:
                    runs = results["settings"].setdefault(key, [])
                    if any(r["seed"] == seed for r in runs):
                        print(f"transfer: {key} seed {seed} (from {os.path.basename(json_path)})", flush=True)
                        continue
                    r = run_setting({**data, "examples_per_class": epc}, results["backbones"], seed, tmp, step_policy)
                    runs.append(r)
                    runs.sort(key=lambda run: run["seed"])
                    print(f"transfer: {key} seed {seed}: S={r['steps']} scratch={r['scratch']:.3f}  "
                          + "  ".join(f"{name}: " + " ".join(f"{a}={v[a]:.3f}" for a in TRANSFER_ARMS)
                                      for name, v in r["backbones"].items())
                          + f"  ({time.time() - started:.0f} s)", flush=True)
                    results_io.write_json(json_path, results)
                    write_report(results, command, time.time() - started, args.out)
    if not results["settings"]:
        raise SystemExit("transfer: nothing to run (check --targets / --sizes)")
    md, png, curves_png = write_report(results, command, time.time() - started, args.out)
    print(open(md).read())
    print(f"outputs: {md}  {png}  {curves_png}  {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
