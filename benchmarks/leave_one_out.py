"""Leave-one-out at the final budget: what each technique of the fast recipe is worth.

Trains the fast recipe (`--recipe`) as it is and once with each of its
techniques removed (the `ARMS` below: one recipe override each), for the
same number of epochs, `--seeds` seeds each, through the same runner as
benchmarks/time_to_accuracy.py (test accuracy of the exported model, training
wall time). Test-time augmentation needs no retraining: its arm is the full
recipe's trained models evaluated without it.

Writes benchmarks/results/leave_one_out.{md,json,png}: per arm the test
accuracy (mean +- sample std), the points the technique is worth (full minus
arm; "no difference" when under 2 standard errors), and its cost. The cost is
measured side by side (`--costs`): every arm's training step (its model,
precision and augmenting input pipeline) timed in one process, in turn, for
a few rounds, so that the drift of a shared VM's speed, which moves whole
runs by 1.3x from one day to the next, touches every arm alike; the median
epoch of the training runs is shown beside it. Resumable: finished (arm,
seed) pairs are kept in the JSON; `--only ARM:SEED` trains just those runs,
so that the study can be split into invocations of under 2 hours while its
report keeps naming the whole study's command. One study per file: a JSON
that holds another recipe's runs is refused.

    .venv/bin/python benchmarks/leave_one_out.py [--seeds 0 1] [--arms full no_ema ...]
        [--full-from benchmarks/results/time_to_accuracy.json] [--costs [--costs-only]]
"""

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))  # the sibling scripts, by their names

import numpy as np  # noqa: E402

import flops_efficiency as _flops_efficiency  # noqa: E402
import time_to_accuracy as _time_to_accuracy  # noqa: E402
import results_io  # noqa: E402

run_one = _time_to_accuracy.run_one

# arm -> (what is removed, recipe overrides). "full" is the recipe as it is.
ARMS = {
    "full": ("nothing", {}),
    "no_label_smoothing": ("label smoothing", {"regularization.label_smoothing": 0.0}),
    "no_translate": ("random translation", {"augmentation.translate": 0}),
    "no_flip": ("random flips", {"augmentation.flip": False}),
    "no_ema": ("EMA weight averaging", {"optimizer.use_ema": False}),
    "no_warmup": ("learning-rate warmup", {"schedule.warmup_epochs": 0.0}),
    "default_widths": ("the wider network (default widths 16-32-64)", {"model.widths": [16, 32, 64]}),
    "no_bfloat16": ("bfloat16 compute (float32 instead; same epochs: worth time, not accuracy)",
                    {"training.precision": "float32"}),
}


def full_runs_from(path, recipe, seeds, runs, smoke):
    """The recipe's own runs (no overrides) of `seeds` in a time_to_accuracy JSON, as `full` arm records.

    The two benchmarks train through the same `run_one`, so a run of the recipe as it is there is this
    study's full arm; seeds already in `runs` are kept as they are.
    """
    if not os.path.exists(path):
        raise SystemExit(f"leave_one_out: --full-from: no such file: {path}")
    with open(path) as f:
        source = json.load(f)
    have = {r["seed"] for r in runs if r["arm"] == "full"}
    taken = [{**r, "arm": "full", "smoke": smoke, "from": os.path.basename(path)} for r in source.get("runs", [])
             if r.get("recipe") == recipe and not r.get("overrides") and not smoke
             and r["seed"] in seeds and r["seed"] not in have]
    for r in taken:
        print(f"leave_one_out: full seed {r['seed']} taken from {path}", flush=True)
    return taken


def step_costs(recipe_path, arms, steps=100, rounds=3, smoke=None):
    """Seconds per training step of each arm's recipe, measured side by side in this process
    (`flops_efficiency.side_by_side_step_seconds`)."""
    overrides = {arm: {**ARMS[arm][1], **(smoke or {})} for arm in arms}
    seconds = _flops_efficiency.side_by_side_step_seconds(recipe_path, overrides, steps, rounds)
    return {arm: s["seconds_per_step"] for arm, s in seconds.items()}


def _per_epoch(run):
    """Seconds per epoch: the median epoch (robust to a minute the shared machine steals), else the mean."""
    median = _time_to_accuracy.median_epoch_seconds(run.get("curve") or [])
    return median if median else run["train_seconds"] / max(run["epochs"], 1)


def summarize(runs, costs=None):
    """arm -> accuracy mean/std, n, seconds per epoch, points worth against full; with `costs` (the
    side-by-side seconds per step), each arm's `cost`: full's seconds per step over the arm's."""
    by_arm = {}
    for r in runs:
        by_arm.setdefault(r["arm"], []).append(r)
    if "full" in by_arm and "no_tta" not in by_arm:
        derived = [dict(r, arm="no_tta", final_test_accuracy=r["final_test_accuracy_without_tta"])
                   for r in by_arm["full"] if r.get("final_test_accuracy_without_tta") is not None]
        if derived:
            by_arm["no_tta"] = derived
    out = {}
    for arm, rs in by_arm.items():
        acc = np.array([r["final_test_accuracy"] for r in rs])
        out[arm] = {"mean": float(acc.mean()), "std": float(acc.std(ddof=1)) if len(acc) > 1 else None,
                    "n": len(rs), "seconds_per_epoch": float(np.median([_per_epoch(r) for r in rs]))}
    full = out.get("full")
    for arm, v in out.items():
        if full is None or arm == "full":
            continue
        v["worth"] = full["mean"] - v["mean"]
        if costs and arm in costs and "full" in costs:
            v["cost"] = costs["full"] / costs[arm]
        if full["std"] is not None and v["std"] is not None:
            se = float(np.sqrt(full["std"] ** 2 / full["n"] + v["std"] ** 2 / v["n"]))
            v["stderr"] = se
            v["verdict"] = "helps" if v["worth"] > 2 * se else "hurts" if v["worth"] < -2 * se else "no difference"
    return out


def write_plot(summary, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arms = [a for a in summary if a != "full" and "worth" in summary[a]]
    fig, ax = plt.subplots(figsize=(8, 4))
    worth = [100 * summary[a]["worth"] for a in arms]
    err = [200 * summary[a].get("stderr", 0.0) for a in arms]
    ax.barh(arms, worth, xerr=err, color=["C2" if w > 0 else "C3" for w in worth])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("points of test accuracy the technique is worth (full - without it; bars: 2 s.e.)")
    ax.set_title("Leave-one-out on the fast recipe")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(data, out):
    probe = data.get("step_costs") or {}
    s = summarize(data["runs"], probe.get("seconds_per_step"))
    lines = ["# Leave-one-out: what each technique of the fast recipe is worth", "",
             f"Recipe `{data['recipe']}`, full Fashion-MNIST, every arm at the recipe's own number of epochs; "
             "test accuracy of the exported model. The no-TTA arm is the full recipe's models evaluated "
             "without test-time augmentation.", "",
             "| arm (removed) | seeds | test accuracy | worth (points) | verdict | median epoch (s) | "
             "cost of the technique (side by side) |",
             "|---|---:|---:|---:|---|---:|---:|"]
    for arm, v in s.items():
        removed = ARMS.get(arm, ("test-time augmentation", {}))[0] if arm != "full" else "nothing (full recipe)"
        spread = f" ± {v['std']:.4f}" if v["std"] is not None else ""
        worth = f"{100 * v['worth']:+.2f}" if "worth" in v else ""
        cost = f"{v['cost']:.2f}x" if "cost" in v else ""
        lines.append(f"| {arm} ({removed}) | {v['n']} | {v['mean']:.4f}{spread} | {worth} | "
                     f"{v.get('verdict', '')} | {v['seconds_per_epoch']:.0f} | {cost} |")
    lines += ["", "Worth = full minus the arm without the technique; 'no difference' when the gap is under two "
              "standard errors. Median epoch = the median epoch of the arm's training runs (robust to the minutes "
              "a shared machine steals now and then, not to its speed drifting between days: the full arm's runs "
              "may come from another day). Cost = the full recipe's seconds per training step over the arm's, "
              "both timed side by side in one process (below); >1x: the technique costs time."]
    if probe:
        per_step = probe["seconds_per_step"]
        lines += ["", f"Side-by-side step times ({probe['steps']} steps x {probe['rounds']} rounds per arm, median; "
                  f"load {probe['load_before'][0]:.1f} before, {probe['load_after'][0]:.1f} after): "
                  + ", ".join(f"{arm} {1000 * t:.0f} ms" for arm, t in per_step.items()) + "."]
    lines += ["",
              "| run | test accuracy | training time | load average before → after |", "|---|---:|---:|---|"]
    for r in data["runs"]:
        lb, la = r["load_before"], r["load_after"]
        lines.append(f"| {r['arm']} seed {r['seed']} | {r['final_test_accuracy']:.4f} | "
                     f"{r['train_seconds'] / 60:.1f} min | {lb[0]:.1f} → {la[0]:.1f} |")
    if data.get("notes"):  # what a run met that its numbers do not show (added by hand to the JSON)
        lines += ["", "Notes:", ""] + [f"- {note}" for note in data["notes"]]
    png = os.path.splitext(out)[0] + ".png"
    lines += ["", f"![leave-one-out]({os.path.basename(png)})", "", f"Command: `{data['command']}`", ""]
    results_io.write_text(out, "\n".join(lines))
    write_plot(s, png)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=os.path.join(ROOT, "recipes", "fashion_mnist_fast.yaml"))
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--work-dir", default=os.path.join(ROOT, "runs", "bench_leave_one_out"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "leave_one_out.md"))
    parser.add_argument("--epochs", type=int, default=None, help="override training.epochs (smoke runs)")
    parser.add_argument("--limit-examples", type=int, default=None, help="override data.limit_examples (smoke runs)")
    parser.add_argument("--full-from", default=None, metavar="JSON",
                        help="take the full arm's runs from a time_to_accuracy JSON (same recipe, no overrides) "
                             "instead of training them again")
    parser.add_argument("--costs", action="store_true",
                        help="after training, time every arm's training step side by side (the cost column)")
    parser.add_argument("--costs-only", action="store_true", help="only that: train nothing")
    parser.add_argument("--cost-steps", type=int, default=100)
    parser.add_argument("--cost-rounds", type=int, default=3)
    parser.add_argument("--only", nargs="+", default=None, metavar="ARM:SEED",
                        help="train just these runs of the study (its report and recorded command stay the whole "
                             "study's), so that it can be split into invocations of under 2 hours")
    args = parser.parse_args(argv)
    if not os.path.exists(args.recipe):
        parser.error(f"recipe not found: {args.recipe}")
    only = set()
    for item in args.only or []:
        arm, _, seed = item.partition(":")
        if arm not in args.arms or not seed.lstrip("-").isdigit() or int(seed) not in args.seeds:
            parser.error(f"--only {item}: expected ARM:SEED with an arm of {args.arms} and a seed of {args.seeds}")
        only.add((arm, int(seed)))
    smoke = {k: v for k, v in (("training.epochs", args.epochs), ("data.limit_examples", args.limit_examples))
             if v is not None}
    json_path = results_io.json_beside(args.out)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    data = results_io.read_json(json_path, {"runs": []})
    recipe = os.path.relpath(os.path.abspath(args.recipe), ROOT)
    if data["runs"] and data.get("recipe", recipe) != recipe:
        parser.error(f"{os.path.relpath(json_path)} holds the study of {data['recipe']}, not {recipe}: "
                     "give another --out (one study per file)")
    data["recipe"] = recipe
    data["command"] = _time_to_accuracy.command_without(
        "leave_one_out.py", argv if argv is not None else sys.argv[1:], ("--only",))
    data["runs"] = [r for r in data["runs"] if r.get("smoke", {}) == smoke]
    from deeprob_keras.recipe import load_recipe, with_overrides
    from deeprob_keras.recipe.validation import to_dict

    base = to_dict(load_recipe(args.recipe))
    absent = [a for a in args.arms if a != "full" and to_dict(with_overrides(load_recipe(args.recipe), ARMS[a][1])) == base]
    for arm in absent:
        print(f"leave_one_out: {arm} skipped: the recipe does not use {ARMS[arm][0]}", flush=True)
    args.arms = [a for a in args.arms if a not in absent]
    if args.full_from:
        data["runs"] += full_runs_from(args.full_from, data["recipe"], args.seeds, data["runs"], smoke)
    done = {(r["arm"], r["seed"]) for r in data["runs"]}
    for seed in [] if args.costs_only else args.seeds:
        for arm in args.arms:
            if (arm, seed) in done:
                print(f"leave_one_out: {arm} seed {seed} (from {os.path.basename(json_path)})", flush=True)
                continue
            if only and (arm, seed) not in only:
                continue
            print(f"leave_one_out: {arm} seed {seed}", flush=True)
            run = run_one(args.recipe, seed, os.path.join(args.work_dir, arm), {**ARMS[arm][1], **smoke})
            data["runs"].append({**run, "arm": arm, "smoke": smoke})
            results_io.write_json(json_path, data)
            write_report(data, args.out)
    if (args.costs and not only) or args.costs_only:  # a part run (--only) trains, the whole study times
        arms = ["full"] + [a for a in ARMS if a != "full"
                           and to_dict(with_overrides(load_recipe(args.recipe), ARMS[a][1])) != base]
        print(f"leave_one_out: timing {len(arms)} arms side by side ({args.cost_rounds} rounds of "
              f"{args.cost_steps} steps)", flush=True)
        load = list(os.getloadavg())
        per_step = step_costs(args.recipe, arms, args.cost_steps, args.cost_rounds, smoke)
        data["step_costs"] = {"seconds_per_step": per_step, "steps": args.cost_steps, "rounds": args.cost_rounds,
                              "load_before": load, "load_after": list(os.getloadavg())}
        results_io.write_json(json_path, data)
    if data["runs"]:
        print(open(write_report(data, args.out)).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
