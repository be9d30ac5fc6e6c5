"""Transfer learning at a small budget: scratch vs feature extraction vs fine-tuning vs stage probes.

Source: the small ResNet of recipes/pretrain_fashion_0_4.yaml (Fashion-MNIST
classes 0-4) trained for `--pretrain-epochs` on `--pretrain-examples` images.
Targets: Fashion-MNIST classes 5-9 (similar) and sklearn digits upsampled to
28x28 (very different), with 10 / 100 / 1000 training examples per class
(digits has ~130 per class, so no 1000). Arms, each with the same epoch budget E
(E = clip(3000 / n_train, 5, 40)) and the recipe's cosine schedule, SGD 0.05:

- scratch: the same ResNet, random init;
- feature extraction: frozen backbone, new linear head;
- fine-tune top: E/2 epochs feature extraction, then stage2 + head at 0.1x LR (BN in inference mode);
- fine-tune all: the same with the whole backbone trainable;
- best stage probe: linear classifiers on stage0 / stage1 / stage2 / features,
  the stage picked on the validation split, its test accuracy reported.

Every arm is built by the library (`build_compiled_model`, `build_transfer_model`).
Test accuracy is also recorded after every epoch of "scratch" and "fine-tune all"
(whose first E/2 epochs are its head-only phase) for the accuracy-vs-epochs
plot; the test set is never used to choose anything. Each cell is then checked
against the lecture's decision table (`deeprob_keras.transfer.advise`).
Writes benchmarks/results/transfer.md, transfer.png and transfer_curves.png;
raw results go to <work-dir>/transfer.json after every setting.

    .venv/bin/python benchmarks/transfer.py [--seeds 0 1 2] [--pretrain-epochs 3] [--pretrain-examples 0 (= all)]
"""

import argparse
import json
import math
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from deeprob_keras.recipe import load_recipe, recipe_from_dict, with_overrides  # noqa: E402
from deeprob_keras.recipe.validation import to_dict  # noqa: E402
from deeprob_keras.training import build_compiled_model, load_recipe_datasets, train_recipe  # noqa: E402
from deeprob_keras.transfer import advise, probe_accuracies  # noqa: E402

ARMS = ("scratch", "feature extraction", "fine-tune top", "fine-tune all", "best stage probe")
TARGETS = {
    "Fashion-MNIST 5-9 (similar)": {"dataset": "fashion_mnist", "classes": [5, 6, 7, 8, 9], "validation_fraction": 0.02},
    "digits 28x28 (different)": {"dataset": "digits", "image_size": 28, "validation_fraction": 0.1},
}
SIZES = {"Fashion-MNIST 5-9 (similar)": (10, 100, 1000), "digits 28x28 (different)": (10, 100)}
BATCH = 64
NOTES = """Notes: a short source run and a few hundred optimizer steps per arm: differences within the spread
are noise. The probes use Adam for 30 epochs on standardized frozen features, while "feature extraction"
trains the same kind of linear head with the recipe's SGD for E epochs: the gap between them is head
optimization, not features. "features" = pooled stage2, so those two probes agree."""
# The lecture's four choices and the arm of this benchmark that implements each.
ADVICE_ARM = {"linear_top": "feature extraction", "fine_tune_few": "fine-tune top",
              "fine_tune_many": "fine-tune all", "probe_stages": "best stage probe"}


def base_recipe(data, seed, epochs, model=None, transfer=None):
    d = {"name": "bench", "seed": seed, "data": data, "model": model or {"name": "small_resnet"},
         "optimizer": {"name": "sgd", "learning_rate": 0.05}, "schedule": {"name": "cosine"},
         "regularization": {"penalty": "l2", "l2": 1e-4}, "training": {"epochs": epochs, "batch_size": BATCH}}
    if transfer:
        d["transfer"] = transfer
    return recipe_from_dict(d)


def fit_and_test(recipe, data, curve=False):
    """Fits the recipe's model; returns (model, test accuracy, test accuracy after each epoch or None)."""
    keras.utils.set_random_seed(recipe.seed)
    model, _ = build_compiled_model(recipe, data, tf.distribute.get_strategy(), BATCH)
    history = model.fit(data.train, epochs=recipe.training.epochs, verbose=0,
                        validation_data=data.test if curve else None)
    per_epoch = [float(a) for a in history.history["val_accuracy"]] if curve else None
    return model, float(model.evaluate(data.test, verbose=0)[1]), per_epoch


def run_setting(target, data_spec, backbone, seed, tmp):
    data_recipe = base_recipe(data_spec, seed, 1)
    data = load_recipe_datasets(data_recipe, BATCH)
    n = data.num_examples["train"]
    epochs = int(min(40, max(5, math.ceil(3000 / n))))
    half = max(1, epochs // 2)
    out = {"curves": {}}
    _, out["scratch"], out["curves"]["scratch"] = fit_and_test(base_recipe(data_spec, seed, epochs), data, curve=True)
    transfer = {"backbone": backbone, "cut_layer": "features"}
    fe = base_recipe(data_spec, seed, epochs, {"name": "backbone"}, {**transfer, "mode": "feature_extraction"})
    _, out["feature extraction"], _ = fit_and_test(fe, data)
    phase1 = base_recipe(data_spec, seed, half, {"name": "backbone"}, {**transfer, "mode": "feature_extraction"})
    head_model, _, head_curve = fit_and_test(phase1, data, curve=True)
    head_path = os.path.join(tmp, f"head_{seed}.keras")
    head_model.save(head_path)
    for arm, freeze in (("fine-tune top", {"freeze_until": "stage1"}), ("fine-tune all", {"freeze_fraction": 0.0})):
        ft = base_recipe(data_spec, seed, epochs - half, {"name": "backbone"},
                         {**transfer, "mode": "fine_tune", "lr_factor": 0.1, "initial_model": head_path, **freeze})
        _, out[arm], curve = fit_and_test(ft, data, curve=arm == "fine-tune all")
        if curve:
            out["curves"][arm] = head_curve + curve
    source = keras.saving.load_model(backbone, compile=False)
    probes = probe_accuracies(source, ["stage0", "stage1", "stage2", "features"], data, epochs=30, seed=seed)
    best = max(probes, key=lambda k: probes[k]["validation"])
    out["best stage probe"] = probes[best]["test"]
    out["best stage"] = best
    out["probes"] = {k: v["test"] for k, v in probes.items()}
    out["n_train"], out["epochs"] = n, epochs
    return out


def write_report(results, args, seconds, out_dir):
    lines = ["# Transfer learning at a small budget", "",
             f"Source: small ResNet (widths 16/32/64, ~78k parameters) pretrained on Fashion-MNIST classes 0-4 "
             f"({args.pretrain_examples or 'all'} images, {args.pretrain_epochs} epochs; source test accuracy "
             f"{results['source_test_accuracy']:.3f}). Test accuracy, mean over seeds {args.seeds} "
             f"(± std when >1 seed). Same epoch budget E per arm; fine-tune arms = E/2 epochs head only + "
             f"E/2 fine-tuning at 0.1x LR, BatchNorm in inference mode. Best stage chosen on the validation split.",
             "", "| target | examples/class | n train | E | " + " | ".join(ARMS) + " | best stage |",
             "|---|---:|---:|---:|" + "---:|" * len(ARMS) + "---|"]
    for key, runs in results["settings"].items():
        target, epc = key.rsplit(" @ ", 1)
        cells = []
        for arm in ARMS:
            vals = np.array([r[arm] for r in runs])
            cells.append(f"{vals.mean():.3f}" + (f" ± {vals.std(ddof=1):.3f}" if len(vals) > 1 else ""))
        stages = ", ".join(sorted({r["best stage"] for r in runs}))
        lines.append(f"| {target} | {epc} | {runs[0]['n_train']} | {runs[0]['epochs']} | " + " | ".join(cells)
                     + f" | {stages} |")
    lines += ["", "Probe test accuracy per stage (seed mean):", "",
              "| target | examples/class | stage0 | stage1 | stage2 | features |", "|---|---:|---:|---:|---:|---:|"]
    for key, runs in results["settings"].items():
        target, epc = key.rsplit(" @ ", 1)
        means = [np.mean([r["probes"][s] for r in runs]) for s in ("stage0", "stage1", "stage2", "features")]
        lines.append(f"| {target} | {epc} | " + " | ".join(f"{m:.3f}" for m in means) + " |")
    lines += ["", "## Where the lecture's table holds on our data", "",
              "Advice = `deeprob_keras.transfer.advise(examples per class, similarity)` (the lecture's table); "
              "similarity as designed (Fashion 5-9 similar, digits different) and as measured by "
              "`similarity_from_probes` (top-layer probe within 0.02 of the best stage probe = similar). "
              "\"holds\" = the advised arm is the best arm or within max(0.01, its std) of it.", "",
              "| target | examples/class | measured similarity | advice | advised arm | best arm | verdict |",
              "|---|---:|---|---|---:|---:|---|"]
    for row in lecture_check(results):
        lines.append("| {target} | {epc} | {measured} | {choice} | {advised_arm} {advised:.3f} | "
                     "{best_arm} {best:.3f} | {verdict} |".format(**row))
    lines += ["", NOTES]
    lines += ["", f"Total wall time {seconds / 60:.1f} min on this machine (2 CPU cores, shared).", "",
              "Reproduce: `.venv/bin/python benchmarks/transfer.py --seeds "
              + " ".join(map(str, args.seeds)) + f" --pretrain-epochs {args.pretrain_epochs} "
              f"--pretrain-examples {args.pretrain_examples}`", ""]
    md = os.path.join(out_dir, "transfer.md")
    with open(md, "w") as f:
        f.write("\n".join(lines))
    png = os.path.join(out_dir, "transfer.png")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = list(results["settings"])
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(ARMS)
    for i, arm in enumerate(ARMS):
        means = [np.mean([r[arm] for r in results["settings"][k]]) for k in keys]
        ax.bar(np.arange(len(keys)) + i * width, means, width, label=arm)
    ax.set_xticks(np.arange(len(keys)) + 0.4 - width / 2)
    ax.set_xticklabels([k.replace(" @ ", "\n") + "/class" for k in keys], fontsize=8)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, ncol=5, loc="upper center", bbox_to_anchor=(0.5, 1.12))
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)
    curves_png = os.path.join(out_dir, "transfer_curves.png")
    plot_curves(results, curves_png, plt)
    return md, png, curves_png


def plot_curves(results, path, plt):
    """Test accuracy after each epoch: scratch vs fine-tune all (head-only first, then the whole net)."""
    keys = list(results["settings"])
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        runs = results["settings"][key]
        for arm, color in (("scratch", "tab:gray"), ("fine-tune all", "tab:red")):
            curves = np.array([r["curves"][arm] for r in runs])
            x = np.arange(1, curves.shape[1] + 1)
            mean = curves.mean(axis=0)
            ax.plot(x, mean, color=color, label="transfer (head, then all)" if arm != "scratch" else arm)
            if len(runs) > 1:
                ax.fill_between(x, curves.min(axis=0), curves.max(axis=0), color=color, alpha=0.2)
        half = max(1, runs[0]["epochs"] // 2)
        ax.axvline(half + 0.5, color="k", lw=0.7, ls=":")
        ax.set_title(key.replace(" @ ", "\n") + "/class", fontsize=8)
        ax.set_xlabel("epoch")
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("test accuracy")
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.suptitle("Test accuracy per epoch, scratch vs transfer: mean over seeds, band = min..max; dotted = fine-tuning starts",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def lecture_check(results):
    """One row per setting: the lecture's advice, the arm implementing it, the best arm, and the verdict."""
    from deeprob_keras.transfer import similarity_from_probes

    rows = []
    for key, runs in results["settings"].items():
        target, epc = key.rsplit(" @ ", 1)
        given = "similar" if "similar" in target else "different"
        probes = {s: float(np.mean([r["probes"][s] for r in runs])) for s in runs[0]["probes"]}
        measured = similarity_from_probes(probes, top_layer="features")
        advice = advise(int(epc), given)
        means = {arm: float(np.mean([r[arm] for r in runs])) for arm in ARMS}
        stds = {arm: float(np.std([r[arm] for r in runs], ddof=1)) if len(runs) > 1 else 0.0 for arm in ARMS}
        advised_arm = ADVICE_ARM[advice.choice]
        best_arm = max(means, key=means.get)
        gap = means[best_arm] - means[advised_arm]
        verdict = "holds" if gap <= max(0.01, stds[advised_arm]) else f"does not hold (-{gap:.3f})"
        rows.append({"target": target, "epc": epc, "measured": measured, "choice": advice.choice,
                     "advised_arm": advised_arm, "advised": means[advised_arm], "best_arm": best_arm,
                     "best": means[best_arm], "verdict": verdict})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--pretrain-epochs", type=int, default=3)
    parser.add_argument("--pretrain-examples", type=int, default=0, help="0 = all of classes 0-4")
    parser.add_argument("--reuse-pretrained", action="store_true",
                        help="reuse <work-dir>/pretrain/model.keras from an earlier run")
    parser.add_argument("--resume", action="store_true",
                        help="reuse <work-dir>/transfer.json: settings already run with as many seeds are kept "
                             "(implies --reuse-pretrained)")
    parser.add_argument("--work-dir", default=os.path.join(ROOT, "runs", "bench_transfer"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = parser.parse_args()
    started = time.time()
    pre = with_overrides(load_recipe(os.path.join(ROOT, "recipes", "pretrain_fashion_0_4.yaml")),
                         {"training.epochs": args.pretrain_epochs, "data.limit_examples": args.pretrain_examples or None,
                          "schedule.warmup_epochs": 0.0, "callbacks.backup": False})
    pre_dir = os.path.join(args.work_dir, "pretrain")
    saved_runs = {}
    json_path = os.path.join(args.work_dir, "transfer.json")
    if args.resume and os.path.exists(json_path):
        with open(json_path) as f:
            saved_runs = json.load(f)["settings"]
        print(f"resuming from {json_path}: {len(saved_runs)} settings there", flush=True)
    if (args.reuse_pretrained or args.resume) and os.path.exists(os.path.join(pre_dir, "metrics.json")):
        with open(os.path.join(pre_dir, "metrics.json")) as f:
            saved = json.load(f)
        source_acc, backbone = saved["test_accuracy"], saved["paths"]["model"]
        print(f"reusing the pretrained source model {backbone}", flush=True)
    else:
        print(f"pretraining on Fashion-MNIST 0-4: {args.pretrain_examples or 'all'} images, {args.pretrain_epochs} epochs",
              flush=True)
        result = train_recipe(pre, pre_dir, verbose=2, export=False)
        source_acc, backbone = result.metrics["test_accuracy"], result.paths["model"]
    results = {"source_test_accuracy": source_acc, "settings": {}}
    print(f"source test accuracy {results['source_test_accuracy']:.4f}  ({time.time() - started:.0f} s)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for target, data in TARGETS.items():
            for epc in SIZES[target]:
                key = f"{target} @ {epc}"
                kept = saved_runs.get(key, [])
                if len(kept) >= len(args.seeds):
                    results["settings"][key] = kept[:len(args.seeds)]
                    print(f"{key:<40} {len(args.seeds)} seeds from {json_path}", flush=True)
                    continue
                for seed in args.seeds:
                    r = run_setting(target, {**data, "examples_per_class": epc}, backbone, seed, tmp)
                    r["seed"] = seed
                    results["settings"].setdefault(key, []).append(r)
                    print(f"{key:<40} seed {seed}  " + "  ".join(f"{a}={r[a]:.3f}" for a in ARMS)
                          + f"  best={r['best stage']}  ({time.time() - started:.0f} s)", flush=True)
                with open(json_path, "w") as f:
                    json.dump(results, f, indent=1)
    md, png, curves_png = write_report(results, args, time.time() - started, args.out)
    print(open(md).read())
    print(f"outputs: {md}  {png}  {curves_png}  {os.path.join(args.work_dir, 'transfer.json')}")


if __name__ == "__main__":
    main()
