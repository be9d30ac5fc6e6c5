"""Time to accuracy: test accuracy against training wall time, recipes side by side.

Trains each recipe (default: the current default and the fast recipe) once
per seed, in one invocation, as `deeprob train` does (`train_recipe`, no
export). After every epoch a callback evaluates the test set through the
model the recipe exports (test-time augmentation on; with EMA the averaged
weights, which `SwapEMAWeights` has swapped in at that point) and records
the cumulative training wall time, which excludes this evaluation. The
final point is the exported model itself (best validation epoch, EMA with
recalibrated BatchNorm, TTA). The test set chooses nothing: recipes were
chosen on the validation split.

Writes benchmarks/results/time_to_accuracy.{md,json,png}: minutes to reach
0.92 / 0.93 / 0.94 / 0.95, final accuracy (mean +- sample std), training
minutes, the budget ratio against the first recipe of the same run, the
load average around each run, and the curves with Zalando's published rows
as reference lines.

Resumable: finished runs are kept in the JSON and skipped; a run killed
mid-way resumes from its last epoch (the run directory keeps its backup and
its per-epoch curve). `--only NAME:SEED` trains just those runs, so that a
long study can be split into invocations of under 2 hours.

A finished run that a shared machine disturbed (epochs far slower than its
others, nothing of ours running beside it) is trained again with `--rerun
NAME:SEED --why "..."`: the first run moves from the study's runs to its
`replaced` list (kept in the JSON, listed in the report with the reason) and
its folder is renamed `<folder>.replaced-<n>`; the rerun starts from scratch.

    .venv/bin/python benchmarks/time_to_accuracy.py [--seeds 0 1 2] [--only fashion_mnist_fast:0]
    .venv/bin/python benchmarks/time_to_accuracy.py ... --rerun fashion_mnist_fast:2 --why "epochs 1.2x the median"
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

THRESHOLDS = (0.92, 0.93, 0.94, 0.95)
# Zalando's benchmark table (github.com/zalandoresearch/fashion-mnist README, "Benchmark"), test accuracy.
PUBLISHED = (("2 Conv <100K parameters", 0.925), ("ResNet18", 0.949), ("WRN-28-10", 0.959))
DEFAULT_RECIPES = ("recipes/fashion_mnist.yaml", "recipes/fashion_mnist_fast.yaml")


def _test_curve_callback(recipe, log_path, curve_every=1):
    """A Keras callback that appends `{epoch, member, train_seconds, test_accuracy}` to `log_path` each epoch;
    its `data` (the recipe's datasets, batch 512) serves the final evaluations too.

    `curve_every` N > 1: the test set is scored after every N-th epoch and the last one only (a 10-view
    test-time augmentation of 10,000 images costs a large share of a short epoch's wall time); the other
    epochs log their training time with `test_accuracy: None`."""
    import keras

    from deeprob_keras.training.run import _final_model, load_recipe_datasets

    data = load_recipe_datasets(recipe, 512)
    labels = data.test_arrays[1]
    test = data.test

    class TestCurve(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            done = _read_curve(log_path)
            self.elapsed = done[-1]["train_seconds"] if done else 0.0
            self.last = done[-1] if done else None
            self.started = None

        def on_epoch_begin(self, epoch, logs=None):
            if self.last is not None and 0 < epoch and self.last["epoch"] < epoch:
                self._estimate_untimed(epoch)
            self.started = time.perf_counter()

        def _estimate_untimed(self, epoch):
            # Killed after BackupAndRestore saved an epoch (it runs before this callback) and before this
            # callback logged it: training resumes past epochs whose time was never recorded. Each is
            # counted as long as the last timed epoch and marked `estimated`, so the total is not short.
            member = self.last.get("member", 0)
            logged = _read_curve(log_path)
            step = self.last["train_seconds"] - (logged[-2]["train_seconds"] if len(logged) > 1 else 0.0)
            for missing in range(self.last["epoch"] + 1, epoch + 1):
                self.elapsed += step
                self.last = {"epoch": missing, "member": member, "train_seconds": self.elapsed,
                             "test_accuracy": None, "val_accuracy": None, "eval_seconds": 0.0, "estimated": True}
                with open(log_path, "a") as f:
                    f.write(json.dumps(self.last) + "\n")

        def on_epoch_end(self, epoch, logs=None):
            self.elapsed += time.perf_counter() - self.started
            eval_started = time.perf_counter()
            acc = None
            if (epoch + 1) % curve_every == 0 or epoch + 1 == self.params.get("epochs"):
                model = _final_model(recipe, [self.model], [])
                probs = model.predict(test, verbose=0)
                acc = float(np.mean(np.argmax(probs, axis=1) == labels))
            # An ensemble's members train one after the other through this one callback: the epoch
            # count starting again marks the next member (its curve is that member's alone).
            member = 0 if self.last is None else self.last.get("member", 0) + (epoch + 1 <= self.last["epoch"])
            self.last = {"epoch": epoch + 1, "member": member, "train_seconds": self.elapsed,
                         "test_accuracy": acc, "val_accuracy": (logs or {}).get("val_accuracy"),
                         "eval_seconds": time.perf_counter() - eval_started}
            with open(log_path, "a") as f:
                f.write(json.dumps(self.last) + "\n")

    callback = TestCurve()
    callback.data = data
    return callback


def _read_curve(path):
    """The logged epochs; a last line cut short by a kill is dropped (that epoch counts as untimed)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = [line for line in f if line.strip()]
    records = []
    for i, line in enumerate(lines):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i + 1 < len(lines):
                raise ValueError(f"{path}: line {i + 1} is not JSON (only a last line cut by a kill is dropped)")
    if len(records) < len(lines):  # rewrite without the partial line, so that appends start on a new line
        results_io.write_text(path, "".join(json.dumps(r) + "\n" for r in records))
    return records


def run_folder(name, seed, overrides):
    """The folder of one run under --work-dir. Overridden runs (e.g. --epochs 18) get their own folder, named
    after their overrides sorted by key: never resumed from, or into, the plain run's."""
    tag = "".join(f"_{key.split('.')[-1]}{value}" for key, value in sorted(overrides.items()))
    return f"{name}_seed{seed}{tag}"


def run_one(recipe_path, seed, work_dir, overrides, curve_every=1):
    """Trains one (recipe, seed); returns its record (curve, final accuracy, timings, load)."""
    from deeprob_keras.models.flops import training_flops_per_example
    from deeprob_keras.recipe import load_recipe, with_overrides
    from deeprob_keras.training.run import train_recipe

    recipe = with_overrides(load_recipe(recipe_path), {"seed": seed, **overrides})
    out_dir = os.path.join(work_dir, run_folder(recipe.name, seed, overrides))
    os.makedirs(out_dir, exist_ok=True)
    log_path = os.path.join(out_dir, "test_curve.jsonl")
    if os.path.exists(os.path.join(out_dir, "metrics.json")) and os.path.exists(log_path):
        os.remove(log_path)  # a finished run missing from the JSON is trained again from scratch
    machine = _machine(recipe)
    load_before = os.getloadavg()
    test_curve = _test_curve_callback(recipe, log_path, curve_every)
    result = train_recipe(recipe, out_dir, verbose=2, export=False, extra_callbacks=[test_curve])
    curve = _read_curve(log_path)
    member = result.model
    while hasattr(member, "base_model"):
        member = member.base_model
    data = test_curve.data
    without_tta = None
    if member is not result.model:  # the same trained weights without test-time augmentation: free to measure
        probs = member.predict(data.test, verbose=0)
        without_tta = float(np.mean(np.argmax(probs, axis=1) == data.test_arrays[1]))
    # The exported model on the validation split: what chooses between candidates (the test set never does).
    final_val = float(result.model.evaluate(data.validation, verbose=0)[1])
    return {
        "recipe": os.path.relpath(os.path.abspath(recipe_path), ROOT), "name": recipe.name, "seed": seed,
        "final_test_accuracy": float(result.metrics["test_accuracy"]),
        "final_test_accuracy_without_tta": without_tta,
        "final_val_accuracy": final_val,
        "members": recipe.training.ensemble_members,
        "train_seconds": curve[-1]["train_seconds"] if curve else float(result.metrics["train_seconds"]),
        "epochs": len(curve), "curve": curve, "parameters": result.metrics.get("parameters"),
        # An ensemble's members each see every training image once an epoch: the FLOPs of one member.
        "train_flops_per_example": int(training_flops_per_example(getattr(member, "members", [member])[0]))
        if hasattr(member, "layers") else None,
        "member_test_accuracy": result.metrics.get("member_test_accuracy"),
        "train_examples": result.metrics["num_examples"]["train"],
        "load_before": list(load_before), "load_after": list(os.getloadavg()),
        "overrides": overrides, "machine": machine, "curve_every": curve_every,
    }


def _machine(recipe):
    """The CPU a run trained on and the precision its recipe resolved to there: runs of one report
    may come from different machines (a bfloat16 recipe resolves to float32 on a CPU without it)."""
    import tensorflow as tf

    from deeprob_keras.training.precision import resolve_precision
    from flops_efficiency import cpu_features

    cpu = cpu_features()
    return {"cpu": cpu["model"], "features": cpu["features"],
            "precision": resolve_precision(recipe.training.precision,
                                           has_gpu=bool(tf.config.list_physical_devices("GPU")))}


def _machine_cell(run):
    from deeprob_keras.training.precision import NATIVE_BFLOAT16_FLAGS

    m = run.get("machine")
    if not m:
        return "not recorded"
    native = set(NATIVE_BFLOAT16_FLAGS) & set(m["features"])
    bf16 = "bfloat16 instructions" if native else "no bfloat16 instructions"
    return f"{m['cpu']} ({bf16}), {m['precision']}"


def time_to_reach(curve, threshold):
    """Training seconds at the first epoch whose test accuracy reaches `threshold`, or None."""
    for point in curve:
        if point["test_accuracy"] is not None and point["test_accuracy"] >= threshold:
            return point["train_seconds"]
    return None


def _reach_curve(run):
    """The points a threshold can be reached at: the curve, and for an ensemble (whose curve is its members
    alone) the averaged members at the end of training."""
    if run.get("members", 1) > 1 and run["curve"]:
        return run["curve"] + [{"train_seconds": run["train_seconds"], "test_accuracy": run["final_test_accuracy"]}]
    return run["curve"]


def median_epoch_seconds(curve):
    """The median wall time of one epoch: robust to the minutes a shared machine steals now and then."""
    ends = [p["train_seconds"] for p in curve]
    return float(np.median(np.diff([0.0] + ends))) if ends else None


def epoch_sides(run):
    """The image side each epoch of `run` trained at when its recipe resizes progressively (else None): the
    sides its `ProgressiveResizing` callback set, from the recipe file, its overrides and the run plan's ramp."""
    from deeprob_keras.layers import progressive_sizes
    from deeprob_keras.recipe import load_recipe, with_overrides
    from deeprob_keras.recipe.schema import KNOWN_DATASETS
    from deeprob_keras.training.plan import RunPlan

    path = os.path.join(ROOT, run.get("recipe") or "")
    if not os.path.isfile(path):
        return None
    recipe = with_overrides(load_recipe(path), run.get("overrides", {}))
    resize = RunPlan.from_recipe(recipe, 1).progressive_resize
    if resize is None:
        return None
    side = recipe.data.image_size or KNOWN_DATASETS[recipe.data.dataset][0]
    return progressive_sizes(resize[0], side, resize[1], recipe.training.epochs)


def mean_train_flops(run, sides):
    """FLOPs per training image averaged over the epochs: a convolution's work scales with the pixels it sees,
    so an epoch at side s of an S x S image costs (s / S)^2 of a full-size one (the classifier's few FLOPs aside)."""
    full = run["train_flops_per_example"]
    if not full or not sides:
        return full
    return int(full * float(np.mean([(s / sides[-1]) ** 2 for s in sides])))


def summarize(runs):
    """name -> summary over its seeds (accuracy mean/std, minutes, time to each threshold)."""
    out = {}
    for name in dict.fromkeys(r["name"] for r in runs):
        rs = [r for r in runs if r["name"] == name]
        sides = epoch_sides(rs[0])
        acc = np.array([r["final_test_accuracy"] for r in rs])
        reach = {}
        for t in THRESHOLDS:
            times = [time_to_reach(_reach_curve(r), t) for r in rs]
            hit = [s for s in times if s is not None]
            reach[str(t)] = {"minutes": float(np.mean(hit)) / 60 if hit else None, "reached": len(hit), "n": len(rs)}
        val = [r.get("final_val_accuracy") for r in rs]
        out[name] = {"mean": float(acc.mean()), "std": float(acc.std(ddof=1)) if len(acc) > 1 else None,
                     "val_mean": float(np.mean(val)) if None not in val else None,
                     "members": rs[0].get("members", 1),
                     "n": len(rs), "train_minutes": float(np.mean([r["train_seconds"] for r in rs])) / 60,
                     # Progressive resizing: epochs differ in cost, so a median epoch stands for none of them.
                     "median_epoch_minutes": float(np.mean([median_epoch_seconds(r["curve"]) * len(r["curve"])
                                                            for r in rs])) / 60
                     if all(r["curve"] for r in rs) and not sides else None,
                     "epoch_sides": sides,
                     "epochs": rs[0]["epochs"], "reach": reach, "parameters": rs[0]["parameters"],
                     "train_flops_per_example": mean_train_flops(rs[0], sides)}
    return out


def write_plot(runs, path, first=None):
    """Accuracy against minutes; the 1x and 2x budgets of `first` (the recipe every ratio is against;
    default: the first run's), drawn only when it has runs here."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    colors = {}
    for r in runs:
        first = r["name"] not in colors
        color = colors.setdefault(r["name"], f"C{len(colors)}")
        minutes = [p["train_seconds"] / 60 for p in r["curve"]]
        for m in dict.fromkeys(p.get("member", 0) for p in r["curve"]):  # an ensemble: one line per member
            points = [p for p in r["curve"] if p.get("member", 0) == m and p["test_accuracy"] is not None]
            ax.plot([p["train_seconds"] / 60 for p in points], [p["test_accuracy"] for p in points], color=color,
                    alpha=0.8, label=r["name"] if first and m == 0 else None)
        ax.scatter([minutes[-1]] if minutes else [], [r["final_test_accuracy"]], color=color, marker="*", s=80)
    first = first or (runs[0]["name"] if runs else None)
    if any(r["name"] == first for r in runs):  # 1x and 2x the first recipe's (the default's) mean time in this run
        budget = float(np.mean([r["train_seconds"] / 60 for r in runs if r["name"] == first]))
        longest = max(r["train_seconds"] / 60 for r in runs)
        for times in (1, 2) if longest > budget else (1,):
            ax.axvline(times * budget, color="C0", linestyle=":", linewidth=1)
            ax.text(times * budget, 0.9635, f" {times}x {first}'s time", color="C0", fontsize=8,
                    rotation=90, va="top")
    for label, acc in PUBLISHED:
        ax.axhline(acc, color="gray", linestyle="--", linewidth=0.8)
        ax.text(ax.get_xlim()[1], acc, f" {label} {acc:.3f}", va="center", fontsize=8, color="gray")
    ax.set_ylim(0.88, 0.965)
    ax.set_xlabel("training wall time (minutes, 2 CPU cores)")
    ax.set_ylabel("test accuracy (as exported: TTA, EMA)")
    ax.set_title("Fashion-MNIST: accuracy against training time (star: final exported model)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(data, out):
    runs = data["runs"]
    s = summarize(runs)
    # Every ratio is against the first recipe of the command (`first`), never against another recipe
    # that happens to come first because the first has no run here yet.
    first = s.get(data["first"]) if data.get("first") else next(iter(s.values()), None)
    lines = ["# Time to accuracy on Fashion-MNIST (2 CPU cores)", "",
             "Each recipe trained on all 54,000 training images (6,000 held out for validation, which chose "
             "every setting), tested on the 10,000 test images after every epoch through the model the recipe "
             "exports (TTA; EMA weights when on). Training time is the wall time of the epochs, validation "
             "included, the per-epoch test evaluation excluded. The final accuracy is the exported model's "
             "(best validation epoch, EMA BatchNorm recalibrated). An ensemble's members train one after the "
             "other: its curve is each member's alone, its final point the averaged members.", "",
             "| recipe | seeds | final test accuracy | validation (exported model) | training time | budget vs first | "
             "median epoch x epochs | vs first | epochs | " + " | ".join(f"time to {t}" for t in THRESHOLDS)
             + " | MFLOPs / train image |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(THRESHOLDS) + "---:|"]
    for name, v in s.items():
        spread = f" ± {v['std']:.4f}" if v["std"] is not None else ""
        reach = []
        for t in THRESHOLDS:
            r = v["reach"][str(t)]
            reach.append(f"{r['minutes']:.1f} min ({r['reached']}/{r['n']})" if r["minutes"] is not None
                         else f"not reached (0/{r['n']})")
        ratio = f"{v['train_minutes'] / first['train_minutes']:.2f}x" if first else f"no run of {data['first']}"
        robust = v.get("median_epoch_minutes")
        robust_ratio = robust / first["median_epoch_minutes"] if robust and first and first.get(
            "median_epoch_minutes") else None
        robust_cells = "n/a (epochs differ in cost) | n/a" if v.get("epoch_sides") else (
            f"{robust:.1f} min | " if robust else "? | ") + (
            f"{robust_ratio:.2f}x" if robust_ratio is not None else "?" if first else f"no run of {data['first']}")
        flops = f"{v['train_flops_per_example'] / 1e6:.0f}" if v["train_flops_per_example"] else "?"
        val = f"{v['val_mean']:.4f}" if v.get("val_mean") is not None else "not recorded"
        members = f" ({v['members']} models)" if v.get("members", 1) > 1 else ""
        lines.append(f"| {name}{members} | {v['n']} | {v['mean']:.4f}{spread} | {val} | "
                     f"{v['train_minutes']:.1f} min | {ratio} | {robust_cells} | {v['epochs']} | "
                     + " | ".join(reach) + f" | {flops} |")
    lines += ["", "Time to a threshold: mean over the seeds that reached it (how many in brackets). Median "
              "epoch x epochs: the training time without the minutes a shared machine steals now and then "
              "(single epochs here sometimes take 2x the median with nothing else running); both budgets "
              "are given, the wall time is the one the issue's targets use. A recipe with progressive resizing "
              "trains its early epochs on smaller images: its FLOPs are the mean over its epochs, and it has no "
              "median epoch."]
    estimated = [r for r in runs if any(p.get("estimated") for p in r.get("curve") or [])]
    if estimated:
        lines += ["", "Runs killed between an epoch's backup and its timing, then resumed: each untimed epoch is "
                  "counted as long as the epoch before it (marked `estimated` in the JSON's curve): "
                  + ", ".join(f"{r['name']} seed {r['seed']} ({sum(bool(p.get('estimated')) for p in r['curve'])}"
                              " epoch(s))" for r in estimated) + "."]
    sparse = sorted({r.get("curve_every", 1) for r in runs} - {1})
    if sparse:
        lines += ["", "Runs whose test set was scored only every N epochs and at the last (`--curve-every`; their "
                  "time to a threshold is the first scored epoch past it, so it can be late by up to N - 1 epochs): "
                  + "; ".join(f"N = {n}: " + ", ".join(f"{r['name']} seed {r['seed']}" for r in runs
                                                      if r.get("curve_every", 1) == n) for n in sparse) + "."]
    lines += ["",
              "| run | final test accuracy | without TTA | its members alone, without TTA | training time | "
              "load average before → after (1, 5, 15 min) | CPU, precision trained in |",
              "|---|---:|---:|---|---:|---|---|"]
    for r in runs:
        lb, la = r["load_before"], r["load_after"]
        alone = r.get("member_test_accuracy") or []
        alone = ", ".join(f"{a:.4f}" for a in alone) if len(alone) > 1 else ""
        plain = r.get("final_test_accuracy_without_tta")
        plain = f"{plain:.4f}" if plain is not None else ""
        lines.append(f"| {r['name']} seed {r['seed']} | {r['final_test_accuracy']:.4f} | {plain} | {alone} | "
                     f"{r['train_seconds'] / 60:.1f} min | {lb[0]:.1f} {lb[1]:.1f} {lb[2]:.1f} → "
                     f"{la[0]:.1f} {la[1]:.1f} {la[2]:.1f} | {_machine_cell(r)} |")
    lines += replaced_lines(data.get("replaced", []))
    lines += step_cost_lines(data.get("step_costs", []))
    lines += ["", "Published (Zalando's benchmark table): " + ", ".join(f"{n} {a:.3f}" for n, a in PUBLISHED) + ".",
              "", f"![accuracy against minutes]({os.path.splitext(os.path.basename(out))[0]}.png)", "",
              f"Command: `{data['command']}`", ""]
    return results_io.write_text(out, "\n".join(lines))


def measure_step_costs(recipe_paths, steps, rounds, overrides=None):
    """One side-by-side measurement of every recipe's training step, in this process
    (`flops_efficiency.side_by_side_recipes`: each round times every recipe in turn, so a drifting VM
    slows them alike). With each recipe's epochs (x ensemble members) it gives a budget ratio that no
    hour's speed moves, beside the wall times of runs trained hours apart."""
    from deeprob_keras.recipe import load_recipe, with_overrides
    from flops_efficiency import side_by_side_recipes

    overrides = dict(overrides or {})
    recipes = {load_recipe(p).name: (p, overrides) for p in recipe_paths}
    load_before = os.getloadavg()
    costs = side_by_side_recipes(recipes, steps, rounds)
    for name, (path, _) in recipes.items():
        recipe = with_overrides(load_recipe(path), overrides)
        costs[name]["epochs"] = recipe.training.epochs * recipe.training.ensemble_members
    return {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "steps": steps, "rounds": rounds,
            "load_before": list(load_before), "load_after": list(os.getloadavg()),
            "machine": _machine(load_recipe(recipe_paths[0])), "recipes": costs, "overrides": overrides}


def step_cost_budgets(measurement):
    """name -> training cost relative to the measurement's first recipe: seconds per image (step / batch)
    x epochs. Every recipe trains on the same images each epoch, so this is the ratio of training times
    on a machine that holds still (validation and per-epoch work aside)."""
    rows = measurement["recipes"]
    cost = {n: r["seconds_per_step"] / r["batch_size"] * r["epochs"] for n, r in rows.items()}
    for n, r in rows.items():  # progressive resizing: each epoch at the cost of its side (x ensemble members)
        if r.get("epoch_sides"):
            members = r["epochs"] // len(r["epoch_sides"])
            step = {**r["seconds_per_step_at_side"], str(max(r["epoch_sides"])): r["seconds_per_step"]}
            cost[n] = members * sum(step[str(s)] for s in r["epoch_sides"]) / r["batch_size"]
    first = cost[next(iter(rows))]
    return {n: c / first for n, c in cost.items()}


def step_cost_lines(measurements):
    if not measurements:
        return []
    names = list(dict.fromkeys(n for m in measurements for n in m["recipes"]))
    first = next(iter(measurements[0]["recipes"]))
    budgets = [step_cost_budgets(m) for m in measurements]
    lines = ["", "## The budget by side-by-side step cost", "",
             f"Each recipe's training step timed in one process, every recipe in turn each round (the median "
             f"kept), then x its epochs: the budget against {first} that a machine holding still would give. "
             "It leaves out validation and the per-epoch work; the wall times above are from runs hours apart "
             "on a VM whose speed drifts between hours.", "",
             "| recipe | ms / step (batch) | epochs | budget vs first | each measurement |", "|---|---:|---:|---:|---|"]
    for name in names:
        seen = [(m["recipes"][name], b[name]) for m, b in zip(measurements, budgets) if name in m["recipes"]]
        last = seen[-1][0]
        median = float(np.median([b for _, b in seen]))
        at_side = last.get("seconds_per_step_at_side")
        smaller = "; at the smaller sides " + ", ".join(
            f"{s}: {1000 * at_side[str(s)]:.1f}" for s in sorted(int(k) for k in at_side)) if at_side else ""
        lines.append(f"| {name} | {1000 * last['seconds_per_step']:.1f} ({last['batch_size']}){smaller} | "
                     f"{last['epochs']} | "
                     f"**{median:.2f}x** | " + ", ".join(f"{b:.2f}x" for _, b in seen) + " |")
    lines += [""] + [f"Measurement {i + 1}: {m['when']}, {m['rounds']} rounds of {m['steps']} steps "
                     f"(the command below with `--step-cost {m['steps']} {m['rounds']}`), load "
                     f"{m['load_before'][0]:.1f} → {m['load_after'][0]:.1f}, {m['machine']['cpu']}."
                     for i, m in enumerate(measurements)]
    return lines


def set_aside(data, keys, work_dir, overrides, why, now=None):
    """Moves the finished runs named by `keys` ("NAME:SEED", made with `overrides`) from `data["runs"]` to
    `data["replaced"]`, each with when and `why`, and renames its folder under `work_dir` to
    `<folder>.replaced-<n>`, so that its rerun starts from scratch and nothing of the first run is lost.

    Returns the keys set aside; a key with no finished run is not an error (it simply trains).
    """
    moved = []
    for key in keys:
        name, _, seed = key.rpartition(":")
        found = [r for r in data["runs"] if r["name"] == name and str(r["seed"]) == seed
                 and r.get("overrides", {}) == overrides]
        for r in found:
            data["runs"].remove(r)
            folder = os.path.join(work_dir, run_folder(name, int(seed), overrides))
            n = 1
            while os.path.exists(f"{folder}.replaced-{n}"):
                n += 1
            if os.path.exists(folder):
                os.rename(folder, f"{folder}.replaced-{n}")
            data.setdefault("replaced", []).append(
                dict(r, replaced_at=now or time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), why=why,
                     folder=os.path.basename(f"{folder}.replaced-{n}")))
            moved.append(key)
    return moved


def replaced_lines(replaced):
    """The report's table of runs replaced by a rerun (why, and the first run's numbers)."""
    if not replaced:
        return []
    lines = ["", "Runs trained again because the first run was disturbed (the first run's numbers; kept in the "
                 "JSON under `replaced`, not in the tables above):", "",
             "| run | final test accuracy | training time | median epoch | load average before → after | "
             "replaced | why |", "|---|---:|---:|---:|---|---|---|"]
    for r in replaced:
        lb, la = r["load_before"], r["load_after"]
        median = median_epoch_seconds(r["curve"])
        lines.append(f"| {r['name']} seed {r['seed']} | {r['final_test_accuracy']:.4f} | "
                     f"{r['train_seconds'] / 60:.1f} min | {median:.0f} s | {lb[0]:.1f} → {la[0]:.1f} | "
                     f"{r['replaced_at']} | {r['why']} |")
    return lines


def recorded_command(argv):
    """The command the report names: this invocation's, without `--only`, `--rerun`, `--why`, `--step-cost` and
    their values.

    The report covers every finished run in the JSON file, so the command that reproduces it is the whole
    study; a part run with `--only` would name just that part.
    """
    return command_without("time_to_accuracy.py", argv, ("--only", "--rerun", "--why", "--step-cost"))


def command_without(script, argv, options):
    """`.venv/bin/python benchmarks/<script> <argv>` without the given options and their values."""
    kept, skipping = [], False
    for arg in argv:
        if arg in options or arg.startswith(tuple(f"{o}=" for o in options)):
            skipping = "=" not in arg
            continue
        if skipping and not arg.startswith("--"):
            continue
        skipping = False
        kept.append(arg)
    return " ".join([f".venv/bin/python benchmarks/{script}", *kept])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=[os.path.join(ROOT, p) for p in DEFAULT_RECIPES])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", default=None, help="NAME:SEED runs to train in this invocation")
    parser.add_argument("--rerun", nargs="+", default=None, metavar="NAME:SEED",
                        help="finished runs to train again (a disturbed first run is kept under 'replaced'); "
                             "needs --why")
    parser.add_argument("--why", default=None, help="why the --rerun runs are trained again (shown in the report)")
    parser.add_argument("--work-dir", default=os.path.join(ROOT, "runs", "bench_time_to_accuracy"))
    parser.add_argument("--curve-every", type=int, default=1, metavar="N",
                        help="score the test set after every N-th epoch and the last (default: every epoch)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "time_to_accuracy.md"))
    parser.add_argument("--epochs", type=int, default=None, help="override training.epochs (smoke runs)")
    parser.add_argument("--limit-examples", type=int, default=None, help="override data.limit_examples (smoke runs)")
    parser.add_argument("--step-cost", type=int, nargs=2, default=None, metavar=("STEPS", "ROUNDS"),
                        help="after any training, time every recipe's step side by side (STEPS steps each, "
                             "ROUNDS rounds) and add the budget it gives to the report; trains nothing else "
                             "unless --only names runs")
    args = parser.parse_args(argv)
    if args.curve_every < 1:
        parser.error(f"--curve-every: expected a positive integer. Received: {args.curve_every}")
    if args.step_cost is not None and min(args.step_cost) < 1:
        parser.error(f"--step-cost: expected two positive integers. Received: {args.step_cost}")
    for path in args.recipes:
        if not os.path.exists(path):
            parser.error(f"recipe not found: {path}")
    if args.rerun and not (args.why or "").strip():
        parser.error("--rerun needs --why \"...\": the report says why the first run was replaced")
    for key in (args.only or []) + (args.rerun or []):
        if ":" not in key or not key.rpartition(":")[2].isdigit():
            parser.error(f"expected NAME:SEED, e.g. fashion_mnist:0. Received: {key!r}")
    overrides = {k: v for k, v in (("training.epochs", args.epochs),
                                   ("data.limit_examples", args.limit_examples)) if v is not None}
    json_path = results_io.json_beside(args.out)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    data = results_io.read_json(json_path, {"runs": []})
    data["command"] = recorded_command(argv if argv is not None else sys.argv[1:])
    from deeprob_keras.recipe import load_recipe

    names = {path: load_recipe(path).name for path in args.recipes}
    # Runs made with other overrides (e.g. a smoke run's --epochs) stay in the JSON file; the report and the
    # plot show only the runs made with this invocation's overrides, so nothing mixes and nothing is lost.
    def matching():
        return dict(data, first=names[args.recipes[0]],
                    runs=[r for r in data["runs"] if r.get("overrides", {}) == overrides],
                    replaced=[r for r in data.get("replaced", []) if r.get("overrides", {}) == overrides],
                    step_costs=[m for m in data.get("step_costs", []) if m.get("overrides", {}) == overrides])

    if args.rerun:
        moved = set_aside(data, args.rerun, args.work_dir, overrides, args.why.strip())
        results_io.write_json(json_path, data)  # before training: a crash in the rerun loses nothing
        print(f"time_to_accuracy: set aside for a rerun: {moved or 'none finished'}", flush=True)
        args.only = list(args.only or []) + list(args.rerun)  # a rerun trains just what it names
    done = {(r["name"], r["seed"]) for r in matching()["runs"]}
    for seed in args.seeds:
        for path in args.recipes:
            key = (names[path], seed)
            if key in done or (args.only and f"{key[0]}:{seed}" not in args.only) or (
                    args.step_cost and not args.only):
                continue
            print(f"time_to_accuracy: {key[0]} seed {seed}", flush=True)
            data["runs"].append(run_one(path, seed, args.work_dir, overrides, args.curve_every))
            data["runs"].sort(key=lambda r: (list(names.values()).index(r["name"])
                                             if r["name"] in names.values() else 99, r["seed"]))
            results_io.write_json(json_path, data)
            shown = matching()
            write_report(shown, args.out)
            write_plot(shown["runs"], os.path.splitext(args.out)[0] + ".png", shown["first"])
    if args.step_cost:
        print(f"time_to_accuracy: timing the training steps side by side ({args.step_cost[0]} steps, "
              f"{args.step_cost[1]} rounds)", flush=True)
        data.setdefault("step_costs", []).append(measure_step_costs(args.recipes, *args.step_cost, overrides))
        results_io.write_json(json_path, data)
    shown = matching()
    if shown["runs"]:
        write_report(shown, args.out)
        write_plot(shown["runs"], os.path.splitext(args.out)[0] + ".png", shown["first"])
        print(open(args.out).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
