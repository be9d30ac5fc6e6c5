"""Ablation: the default recipe with each technique of the lecture switched on alone.

Baseline: recipes/fashion_mnist.yaml with every technique below off (the
recipe's own `augmentation.flip: true` is switched off too), its cosine
schedule, the same epochs, data and seed for every arm. Arms:

- flip_crop: random flip + scale augmentation (resize to L in [28, 32], random 28x28 crop);
- erasing: random erasing, p = 0.5;  mixup: alpha 0.2;  cutmix: alpha 1.0;
- label_smoothing: 0.1;  dropout: head dropout 0.3;  stochastic_depth: 0.1;
- ema: Polyak/EMA weights (`optimizer.use_ema`), evaluated with the averaged weights;
- snapshot: cosine_restarts with cycle = epochs / 3, ensemble of the snapshots;
- tta: test-time augmentation (average over the image and its mirror);
- schedules: step (x0.1 at 50% and 75% of the run), linear, inverse_sqrt,
  constant (the baseline is cosine);
- best: the single-technique arms that beat the baseline (seed 0), combined
  (the better of mixup/cutmix; the best schedule unless snapshot is in).
  Chosen on the test set of seed 0, so its seed-0 number is optimistic:
  `--seeds N` reruns baseline and best with seeds 0..N-1.

Every arm goes through `train_recipe(..., export=False, verbose=0)`. Raw results
go to `<out>/ablation.json` after each arm; a rerun skips every arm already
there with the same settings (epochs, examples, widths, overrides, seed).
Writes `<out>/ablation.md` and `<out>/ablation.png`.

    .venv/bin/python benchmarks/ablation.py --epochs 3 --limit-examples 12000 [--seeds 3] [--arms baseline,ema]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))  # the sibling scripts, by their names

import numpy as np  # noqa: E402
import results_io  # noqa: E402

TECHNIQUES = {
    "flip_crop": ("+flip, scale 28-32, crop 28", lambda e: {
        "augmentation.flip": True, "augmentation.scale_min": 28, "augmentation.scale_max": 32,
        "augmentation.crop_size": 28}),
    "erasing": ("+random erasing 0.5", lambda e: {"augmentation.random_erasing": 0.5}),
    "mixup": ("+Mixup a=0.2", lambda e: {"augmentation.mixup_alpha": 0.2}),
    "cutmix": ("+CutMix a=1.0", lambda e: {"augmentation.cutmix_alpha": 1.0}),
    "label_smoothing": ("+label smoothing 0.1", lambda e: {"regularization.label_smoothing": 0.1}),
    "dropout": ("+head dropout 0.3", lambda e: {"model.head_dropout": 0.3}),
    "stochastic_depth": ("+stochastic depth 0.1", lambda e: {"model.stochastic_depth": 0.1}),
    "ema": ("+EMA weights", lambda e: {"optimizer.use_ema": True}),
    "snapshot": ("+snapshot ensemble (restarts, cycle E/3)", lambda e: {
        "schedule.name": "cosine_restarts", "schedule.cycle_epochs": e / 3.0, "callbacks.snapshots": True}),
    "tta": ("+TTA flip", lambda e: {"augmentation.tta": "flip"}),
}
SCHEDULES = {
    "step": ("schedule: step x0.1 at 50%/75%", lambda e: {
        "schedule.name": "step", "schedule.boundaries_epochs": [0.5 * e, 0.75 * e], "schedule.gamma": 0.1}),
    "linear": ("schedule: linear", lambda e: {"schedule.name": "linear"}),
    "inverse_sqrt": ("schedule: inverse sqrt", lambda e: {"schedule.name": "inverse_sqrt"}),
    "constant": ("schedule: constant", lambda e: {"schedule.name": "constant"}),
}
BASELINE = ("baseline (cosine, no technique)", lambda e: {})
ARMS = {"baseline": BASELINE, **TECHNIQUES, **SCHEDULES}
ALL_ARMS = list(ARMS) + ["best"]
FALLBACK_BEST = ["flip_crop", "label_smoothing", "ema", "tta"]


def base_overrides(args):
    """Settings shared by every arm."""
    o = {"training.epochs": args.epochs, "data.limit_examples": args.limit_examples,
         "augmentation.flip": False, "callbacks.backup": True}
    if args.widths:
        o["model.widths"] = list(args.widths)
    return o


def settings_of(args):
    from deeprob_keras.recipe import load_recipe

    return {"recipe": os.path.relpath(os.path.abspath(args.recipe), ROOT), "epochs": args.epochs,
            "limit_examples": args.limit_examples, "widths": list(args.widths) if args.widths else None,
            "bn_momentum": load_recipe(args.recipe).model.bn_momentum}


def best_combination(runs, settings):
    """Arms whose seed-0 test accuracy beat the baseline, combined into one recipe."""
    acc = {r["arm"]: r["metrics"]["test_accuracy"] for r in runs
           if r["seed_index"] == 0 and r["settings"] == settings}
    if "baseline" not in acc:
        return list(FALLBACK_BEST), "fixed (no baseline result yet)"
    base = acc["baseline"]
    chosen = [a for a in TECHNIQUES if a in acc and acc[a] > base]
    if "mixup" in chosen and "cutmix" in chosen:
        chosen.remove("mixup" if acc["mixup"] < acc["cutmix"] else "cutmix")
    if "snapshot" not in chosen:
        schedules = [a for a in SCHEDULES if a in acc and acc[a] > base]
        if schedules:
            chosen.append(max(schedules, key=lambda a: acc[a]))
    if not chosen:
        present = [a for a in TECHNIQUES if a in acc]
        if not present:
            return list(FALLBACK_BEST), "fixed (no single-technique result yet)"
        chosen = [max(present, key=lambda a: acc[a])]
        return chosen, "no technique beat the baseline: the best single one"
    return chosen, "every arm that beat the baseline at seed 0"


def arm_overrides(arm, epochs, runs, settings):
    if arm != "best":
        return ARMS[arm][1](epochs), None
    parts, why = best_combination(runs, settings)
    o = {}
    for p in parts:
        o.update(ARMS[p][1](epochs))
    return o, {"parts": parts, "why": why}


def fix_warmup(recipe_overrides, recipe, epochs):
    """The recipe's warmup must stay shorter than the run."""
    if recipe.schedule.warmup_epochs >= epochs:
        recipe_overrides["schedule.warmup_epochs"] = 0.0
    return recipe_overrides


def load_results(path):
    return results_io.read_json(path, {"runs": []})


def save_results(data, path):
    results_io.write_json(path, data)


def run_arm(arm, seed_index, overrides, args, work_dir):
    from deeprob_keras.recipe import load_recipe, with_overrides
    from deeprob_keras.training.run import train_recipe

    recipe = load_recipe(args.recipe)
    o = {**base_overrides(args), **overrides, "seed": recipe.seed + seed_index, "name": f"ablation_{arm}"}
    recipe = with_overrides(recipe, fix_warmup(o, recipe, args.epochs))
    load_before = os.getloadavg()
    started = time.time()
    result = train_recipe(recipe, os.path.join(work_dir, f"{arm}_s{seed_index}"), verbose=0, export=False)
    wall = time.time() - started
    keep = ("test_accuracy", "test_loss", "member_test_accuracy", "snapshots", "epochs_run",
            "seconds_per_epoch", "train_seconds", "num_examples", "parameters")
    metrics = {k: result.metrics.get(k) for k in keep}
    metrics["val_accuracy"] = float(result.history["val_accuracy"][-1]) if "val_accuracy" in result.history else None
    return {"arm": arm, "seed_index": seed_index, "seed": recipe.seed, "overrides": overrides,
            "metrics": metrics, "wall_seconds": wall, "load_before": list(load_before),
            "load_after": list(os.getloadavg())}


def summarize(runs, settings):
    rows = {}
    for r in runs:
        if r["settings"] != settings:
            continue
        rows.setdefault(r["arm"], []).append(r)
    base_spe = None
    if "baseline" in rows:
        base_spe = np.median([r["metrics"]["seconds_per_epoch"] for r in rows["baseline"]])
    out = []
    for arm in ALL_ARMS:
        if arm not in rows:
            continue
        rs = sorted(rows[arm], key=lambda r: r["seed_index"])
        acc = np.array([r["metrics"]["test_accuracy"] for r in rs])
        spe = float(np.median([r["metrics"]["seconds_per_epoch"] for r in rs]))
        out.append({"arm": arm, "label": label_of(arm, rs[-1]), "n": len(rs), "mean": float(acc.mean()),
                    "std": float(acc.std(ddof=1)) if len(acc) > 1 else None,
                    "seed0": float(rs[0]["metrics"]["test_accuracy"]) if rs[0]["seed_index"] == 0 else None,
                    "spe": spe, "slowdown": spe / base_spe if base_spe else None,
                    "wall": float(np.mean([r["wall_seconds"] for r in rs])),
                    "load": float(np.mean([(r["load_before"][0] + r["load_after"][0]) / 2 for r in rs]))})
    return out


def label_of(arm, run):
    if arm == "best":
        return "best: " + " + ".join(run.get("best", {}).get("parts", []))
    return ARMS[arm][0]


def write_report(data, settings, out_dir, command):
    """ablation.md: the current settings first, then every other setting kept in ablation.json."""
    rows = summarize(data["runs"], settings)
    if not rows:
        return None
    lines = ["# Ablation: one technique at a time on the default recipe", ""]
    lines += section(data, settings, command, rows)
    others = []
    for r in data["runs"]:
        if r["settings"] != settings and r["settings"] not in others:
            others.append(r["settings"])
    for other in others:
        cmd = next((r["command"] for r in data["runs"] if r["settings"] == other and r.get("command")),
                   "not recorded")
        lines += ["", f"## Earlier run: {other['epochs']} epochs, {other['limit_examples'] or 'all'} examples"
                  + (f", widths {other['widths']}" if other["widths"] else ""), ""]
        lines += section(data, other, cmd, summarize(data["runs"], other))
    md = os.path.join(out_dir, "ablation.md")
    with open(md, "w") as f:
        f.write("\n".join(lines) + "\n")
    try:
        plot(rows, os.path.join(out_dir, "ablation.png"), settings)
    except Exception as err:  # the table is the result; a plot failure must not lose it
        print(f"ablation: plot failed: {err}", flush=True)
    return md


def section(data, settings, command, rows):
    base = next((r for r in rows if r["arm"] == "baseline"), None)
    lines = [f"Recipe `{settings['recipe']}` (small ResNet, SGD Nesterov 0.05, L2 1e-4, cosine with 1 warmup epoch "
             f"unless the run is shorter), every technique off in the baseline (including the recipe's flip). "
             f"{settings['epochs']} epochs, "
             f"{'all' if settings['limit_examples'] is None else settings['limit_examples']} training examples "
             f"(limited after the validation split: validation = 10% of the 60,000 training images), "
             f"test set 10,000 images"
             + (f", widths {settings['widths']}" if settings["widths"] else "") + ".", "",
             f"Latest command: `{command}`", "",
             "| arm | seeds | test accuracy | ± std | Δ vs baseline | s/epoch | slowdown | wall/run (s) | load avg |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        std = "" if r["std"] is None else f"{r['std']:.4f}"
        slowdown = "" if r["slowdown"] is None else f"{r['slowdown']:.2f}x"
        delta = f"{100 * (r['mean'] - base['mean']):+.2f} pt" if base and r["arm"] != "baseline" else ""
        lines.append(
            f"| {r['label']} | {r['n']} | {r['mean']:.4f} | {std} | "
            f"{delta} | {r['spe']:.1f} | {slowdown} | {r['wall']:.0f} | {r['load']:.1f} |")
    best_runs = [r for r in data["runs"] if r["arm"] == "best" and r["settings"] == settings]
    lines += ["", "Notes:",
              "- test accuracy: mean over seeds (± sample std when more than one seed); when baseline and an arm "
              "have different seed counts, compare the seed-0 numbers (`ablation.json`).",
              "- s/epoch: median training epoch time (`EpochTimer`), evaluation excluded, then the median over "
              "an arm's seeds (one run slowed by other work does not move it); slowdown = s/epoch / "
              "baseline's s/epoch. TTA and snapshot ensembles cost at test time instead (see wall/run).",
              "- load avg: 1-minute load average of the machine (2 cores) around the run; other jobs were running, "
              "so timings are noisy (a ratio within ~±20% of 1 is not a measured difference).",
              f"- a few epochs{' on part of the data' if settings['limit_examples'] else ''} favour techniques "
              "that speed up fitting (EMA, schedules ending "
              "at 0) and penalise strong regularizers (Mixup, CutMix, erasing, stochastic depth), which pay off "
              "over long runs: this is a short-budget ablation, not the published long-run comparison."]
    n_train = next((r["metrics"]["num_examples"]["train"] for r in data["runs"] if r["settings"] == settings
                    and isinstance(r["metrics"].get("num_examples"), dict)), None)
    if n_train:
        steps = -(-n_train // 128) * settings["epochs"]
        m = settings.get("bn_momentum", 0.99)  # runs recorded before the key existed used Keras's 0.99
        left = m ** steps
        if left >= 0.01:
            lines.append(f"- {steps} optimizer steps per run ({n_train} training images, batch 128): the "
                         f"BatchNormalization moving averages (momentum {m}) still hold {left:.1%} of their "
                         "initial values, which pulls test accuracy below training accuracy in short runs; EMA "
                         "weights and the BN statistics interact with this too.")
        else:
            lines.append(f"- {steps} optimizer steps per run ({n_train} training images, batch 128): the "
                         f"BatchNormalization moving averages (momentum {m}) have forgotten their initial values.")
    if best_runs:
        b = best_runs[0]["best"]
        lines.append(f"- best = {' + '.join(b['parts'])} ({b['why']}); picked on the seed-0 test accuracy, so "
                     "its seed-0 number is optimistic: only the other seeds are an unbiased check.")
    return lines


def plot(rows, path, settings):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rows) + 1.5))
    y = np.arange(len(rows))[::-1]
    means = [r["mean"] for r in rows]
    errs = [r["std"] or 0.0 for r in rows]
    colors = ["tab:gray" if r["arm"] == "baseline" else "tab:green" if r["arm"] == "best" else "tab:blue"
              for r in rows]
    ax.barh(y, means, xerr=errs, color=colors)
    ax.set_yticks(y)
    ax.set_yticklabels([r["label"] for r in rows], fontsize=8)
    lo = min(means) - 0.02
    ax.set_xlim(max(0.0, lo), min(1.0, max(means) + 0.01))
    base = next((r for r in rows if r["arm"] == "baseline"), None)
    if base:
        ax.axvline(base["mean"], color="k", lw=0.8, ls="--")
    ax.set_xlabel("test accuracy")
    ax.set_title(f"Fashion-MNIST ablation, {settings['epochs']} epochs, "
                 f"{settings['limit_examples'] or 'all'} examples")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--limit-examples", type=int, default=None, help="default: the full training set")
    parser.add_argument("--arms", default=",".join(ALL_ARMS), help=f"comma-separated subset of {ALL_ARMS}")
    parser.add_argument("--seeds", type=int, default=1, help="N > 1: baseline and best also run with seeds 1..N-1")
    parser.add_argument("--widths", type=int, nargs="+", default=None, help="override model.widths (tiny runs)")
    parser.add_argument("--recipe", default=os.path.join(ROOT, "recipes", "fashion_mnist.yaml"))
    parser.add_argument("--work-dir", default=None, help="run directories (default: runs/bench_ablation)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    args = parser.parse_args(argv)
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = [a for a in arms if a not in ALL_ARMS]
    if unknown:
        parser.error(f"unknown arms {unknown}; choose from {ALL_ARMS}")
    if args.epochs < 1 or args.seeds < 1:
        parser.error("--epochs and --seeds must be >= 1")
    os.makedirs(args.out, exist_ok=True)
    settings = settings_of(args)
    tag = f"e{args.epochs}_n{args.limit_examples or 'all'}"
    if args.widths:
        tag += "_w" + "-".join(map(str, args.widths))
    work_dir = args.work_dir or os.path.join(ROOT, "runs", "bench_ablation")
    work_dir = os.path.join(work_dir, tag)
    json_path = os.path.join(args.out, "ablation.json")
    data = load_results(json_path)
    command = "python benchmarks/ablation.py " + " ".join(argv if argv is not None else sys.argv[1:])

    jobs = [(a, 0) for a in arms if a != "best"]
    for s in range(1, args.seeds):
        jobs += [(a, s) for a in ("baseline",) if a in arms]
    if "best" in arms:
        jobs += [("best", s) for s in range(args.seeds)]
    base_spe = None
    print(f"ablation: {len(jobs)} runs, {args.epochs} epochs, {args.limit_examples or 'all'} examples; "
          f"results -> {json_path}", flush=True)
    for arm, s in jobs:
        overrides, best_info = arm_overrides(arm, args.epochs, data["runs"], settings)
        done = next((r for r in data["runs"] if r["arm"] == arm and r["seed_index"] == s
                     and r["settings"] == settings and r["overrides"] == json.loads(json.dumps(overrides))), None)
        if done is None:
            run = run_arm(arm, s, overrides, args, os.path.join(work_dir, ("best_" + "_".join(best_info["parts"]))
                                                                if best_info else work_dir))
            run["settings"] = settings
            run["command"] = command
            if best_info:
                run["best"] = best_info
            data["runs"] = [r for r in data["runs"] if not (
                r["arm"] == arm and r["seed_index"] == s and r["settings"] == settings)] + [run]
            save_results(data, json_path)
            status = ""
        else:
            run, status = done, " (from ablation.json)"
        if arm == "baseline" and s == 0:
            base_spe = run["metrics"]["seconds_per_epoch"]
        m = run["metrics"]
        slow = f"{m['seconds_per_epoch'] / base_spe:.2f}x" if base_spe else "n/a"
        print(f"  {arm:<17} seed {s}  test acc {m['test_accuracy']:.4f}  {m['seconds_per_epoch']:.1f} s/epoch  "
              f"slowdown {slow}  load {run['load_after'][0]:.1f}{status}", flush=True)
        write_report(data, settings, args.out, command)
    md = write_report(data, settings, args.out, command)
    print(f"ablation: table {md}, plot {os.path.join(args.out, 'ablation.png')}, raw {json_path}", flush=True)


if __name__ == "__main__":
    main()
