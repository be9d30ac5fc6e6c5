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
Writes benchmarks/results/transfer.md and transfer.png.

    .venv/bin/python benchmarks/transfer.py [--seeds 0 1] [--pretrain-epochs 2] [--pretrain-examples 12000]
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
from deeprob_keras.transfer import probe_accuracies  # noqa: E402

ARMS = ("scratch", "feature extraction", "fine-tune top", "fine-tune all", "best stage probe")
TARGETS = {
    "Fashion-MNIST 5-9 (similar)": {"dataset": "fashion_mnist", "classes": [5, 6, 7, 8, 9], "validation_fraction": 0.02},
    "digits 28x28 (different)": {"dataset": "digits", "image_size": 28, "validation_fraction": 0.1},
}
SIZES = {"Fashion-MNIST 5-9 (similar)": (10, 100, 1000), "digits 28x28 (different)": (10, 100)}
BATCH = 64
NOTES = """Notes: one seed, a 2-epoch source and a few optimizer steps per arm: small differences are noise.
"scratch" sits at chance when it gets fewer than ~100 steps (BatchNorm moving averages, momentum 0.99,
have not left their initial values). The probes use Adam for 30 epochs on standardized frozen features,
while "feature extraction" trains the same kind of linear head with the recipe's SGD for E epochs: the gap
between them is head optimization, not features. "features" = pooled stage2, so those two probes agree."""


def base_recipe(data, seed, epochs, model=None, transfer=None):
    d = {"name": "bench", "seed": seed, "data": data, "model": model or {"name": "small_resnet"},
         "optimizer": {"name": "sgd", "learning_rate": 0.05}, "schedule": {"name": "cosine"},
         "regularization": {"penalty": "l2", "l2": 1e-4}, "training": {"epochs": epochs, "batch_size": BATCH}}
    if transfer:
        d["transfer"] = transfer
    return recipe_from_dict(d)


def fit_and_test(recipe, data):
    keras.utils.set_random_seed(recipe.seed)
    model, _ = build_compiled_model(recipe, data, tf.distribute.get_strategy(), BATCH)
    model.fit(data.train, epochs=recipe.training.epochs, verbose=0)
    return model, float(model.evaluate(data.test, verbose=0)[1])


def run_setting(target, data_spec, backbone, seed, tmp):
    data_recipe = base_recipe(data_spec, seed, 1)
    data = load_recipe_datasets(data_recipe, BATCH)
    n = data.num_examples["train"]
    epochs = int(min(40, max(5, math.ceil(3000 / n))))
    half = max(1, epochs // 2)
    out = {}
    _, out["scratch"] = fit_and_test(base_recipe(data_spec, seed, epochs), data)
    transfer = {"backbone": backbone, "cut_layer": "features"}
    fe = base_recipe(data_spec, seed, epochs, {"name": "backbone"}, {**transfer, "mode": "feature_extraction"})
    _, out["feature extraction"] = fit_and_test(fe, data)
    phase1 = base_recipe(data_spec, seed, half, {"name": "backbone"}, {**transfer, "mode": "feature_extraction"})
    head_model, _ = fit_and_test(phase1, data)
    head_path = os.path.join(tmp, f"head_{seed}.keras")
    head_model.save(head_path)
    for arm, freeze in (("fine-tune top", {"freeze_until": "stage1"}), ("fine-tune all", {"freeze_fraction": 0.0})):
        ft = base_recipe(data_spec, seed, epochs - half, {"name": "backbone"},
                         {**transfer, "mode": "fine_tune", "lr_factor": 0.1, "initial_model": head_path, **freeze})
        _, out[arm] = fit_and_test(ft, data)
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
             f"({args.pretrain_examples} images, {args.pretrain_epochs} epochs; source test accuracy "
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
    return md, png


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--pretrain-epochs", type=int, default=2)
    parser.add_argument("--pretrain-examples", type=int, default=12000)
    parser.add_argument("--reuse-pretrained", action="store_true",
                        help="reuse <work-dir>/pretrain/model.keras from an earlier run")
    parser.add_argument("--work-dir", default=os.path.join(ROOT, "runs", "bench_transfer"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = parser.parse_args()
    started = time.time()
    pre = with_overrides(load_recipe(os.path.join(ROOT, "recipes", "pretrain_fashion_0_4.yaml")),
                         {"training.epochs": args.pretrain_epochs, "data.limit_examples": args.pretrain_examples,
                          "schedule.warmup_epochs": 0.0, "callbacks.backup": False})
    pre_dir = os.path.join(args.work_dir, "pretrain")
    if args.reuse_pretrained and os.path.exists(os.path.join(pre_dir, "metrics.json")):
        with open(os.path.join(pre_dir, "metrics.json")) as f:
            saved = json.load(f)
        source_acc, backbone = saved["test_accuracy"], saved["paths"]["model"]
        print(f"reusing the pretrained source model {backbone}", flush=True)
    else:
        print(f"pretraining on Fashion-MNIST 0-4: {args.pretrain_examples} images, {args.pretrain_epochs} epochs",
              flush=True)
        result = train_recipe(pre, pre_dir, verbose=2, export=False)
        source_acc, backbone = result.metrics["test_accuracy"], result.paths["model"]
    results = {"source_test_accuracy": source_acc, "settings": {}}
    print(f"source test accuracy {results['source_test_accuracy']:.4f}  ({time.time() - started:.0f} s)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for target, data in TARGETS.items():
            for epc in SIZES[target]:
                key = f"{target} @ {epc}"
                for seed in args.seeds:
                    r = run_setting(target, {**data, "examples_per_class": epc}, backbone, seed, tmp)
                    results["settings"].setdefault(key, []).append(r)
                    print(f"{key:<40} seed {seed}  " + "  ".join(f"{a}={r[a]:.3f}" for a in ARMS)
                          + f"  best={r['best stage']}  ({time.time() - started:.0f} s)", flush=True)
                with open(os.path.join(args.work_dir, "transfer.json"), "w") as f:
                    json.dump(results, f, indent=1)
    md, png = write_report(results, args, time.time() - started, args.out)
    print(open(md).read())
    print(f"outputs: {md}  {png}  {os.path.join(args.work_dir, 'transfer.json')}")


if __name__ == "__main__":
    main()
