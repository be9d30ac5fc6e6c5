"""Single model vs EMA vs snapshot ensembles vs independent models, at a converged budget.

    .venv/bin/python benchmarks/ensemble_comparison.py --epochs 15 --limit-examples 10000 \\
        --snapshots 3 5 --members 3 --seeds 0 1

Every arm trains `--recipe` for E = `--epochs` epochs per model (its cosine
schedule decays to zero over them), seed s:
- single: the recipe as it is;
- ema: the same with Polyak/EMA weights (`optimizer.use_ema`);
- snapshot ensemble, M cycles: cosine restarts of E/M epochs in the same E
  epochs, one snapshot per cycle, their predictions averaged;
- K independent models: K members of E epochs each (seeds from the run plan),
  so it costs K times more.
The single arm's validation accuracy per epoch is kept: the report shows that
it has plateaued at E (the lecture's ensembles are of converged models).

Resumable: finished (arm, seed) pairs are kept in the JSON and skipped.
Writes benchmarks/results/ensemble_comparison.{md,json,png}.
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


def arms(epochs, members, snapshots):
    """arm -> recipe overrides."""
    out = {"single": {}, "ema": {"optimizer.use_ema": True}}
    for m in snapshots:
        out[f"snapshots M={m}"] = {"schedule.name": "cosine_restarts", "schedule.cycle_epochs": epochs / m,
                                   "schedule.warmup_epochs": 0.0, "callbacks.snapshots": True}
    out[f"{members} independent"] = {"training.ensemble_members": members}
    return out


def model_epochs(overrides, epochs):
    return epochs * overrides.get("training.ensemble_members", 1)


def run_arm(recipe, arm, overrides, seed, epochs, work_dir):
    """Trains one (arm, seed); returns its record."""
    from deeprob_keras.recipe import with_overrides
    from deeprob_keras.training import train_recipe

    load_before = os.getloadavg()
    started = time.time()
    result = train_recipe(with_overrides(recipe, {**overrides, "seed": seed}),
                          os.path.join(work_dir, f"{arm.replace(' ', '_').replace('=', '')}_seed{seed}"),
                          verbose=0, export=False)
    m = result.metrics
    return {"arm": arm, "seed": seed, "test_accuracy": float(m["test_accuracy"]),
            "member_test_accuracy": m["member_test_accuracy"], "snapshots": m["snapshots"],
            "wall_seconds": time.time() - started, "train_seconds": m["train_seconds"],
            "model_epochs": model_epochs(overrides, epochs),
            "val_accuracy": [float(v) for v in result.history.get("val_accuracy", [])],
            "load_before": list(load_before), "load_after": list(os.getloadavg())}


def summarize(runs):
    """arm -> mean/std/n of test accuracy, members' mean, gain over single with a 2-s.e. verdict, cost."""
    by_arm = {}
    for r in runs:
        by_arm.setdefault(r["arm"], []).append(r)
    out = {}
    for arm, rs in by_arm.items():
        acc = np.array([r["test_accuracy"] for r in rs])
        out[arm] = {"mean": float(acc.mean()), "std": float(acc.std(ddof=1)) if len(acc) > 1 else None,
                    "n": len(rs), "members_mean": float(np.mean([a for r in rs for a in r["member_test_accuracy"]])),
                    "model_epochs": rs[0]["model_epochs"],
                    "wall_seconds": float(np.mean([r["wall_seconds"] for r in rs]))}
    single = out.get("single")
    for arm, v in out.items():
        if single is None or arm == "single":
            continue
        v["gain"] = v["mean"] - single["mean"]
        v["cost"] = v["wall_seconds"] / single["wall_seconds"]
        if single["std"] is not None and v["std"] is not None:
            se = float(np.sqrt(single["std"] ** 2 / single["n"] + v["std"] ** 2 / v["n"]))
            v["stderr"] = se
            v["verdict"] = "better" if v["gain"] > 2 * se else "worse" if v["gain"] < -2 * se else "no difference"
    return out


def plateau(runs, last=3):
    """The single arm's validation curves: (mean of the last `last` epochs, best, epoch of the best) per seed."""
    rows = []
    for r in runs:
        if r["arm"] == "single" and r["val_accuracy"]:
            v = r["val_accuracy"]
            rows.append((r["seed"], float(np.mean(v[-last:])), float(max(v)), int(np.argmax(v)) + 1, len(v)))
    return rows


def write_plot(data, summary, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (bars, curves) = plt.subplots(1, 2, figsize=(11, 4))
    names = list(summary)
    means = [100 * summary[a]["mean"] for a in names]
    errs = [100 * (summary[a]["std"] or 0.0) for a in names]
    bars.barh(names, means, xerr=errs, color=["C0" if a == "single" else "C2" for a in names])
    low = min(means) - 2
    bars.set_xlim(low, max(means) + 1)
    bars.set_xlabel("test accuracy (%), mean ± std over seeds")
    bars.set_title("Ensembles at a converged budget")
    for r in data["runs"]:
        if r["arm"] == "single" and r["val_accuracy"]:
            curves.plot(range(1, len(r["val_accuracy"]) + 1), [100 * v for v in r["val_accuracy"]],
                        label=f"single, seed {r['seed']}")
    curves.set_xlabel("epoch")
    curves.set_ylabel("validation accuracy (%)")
    curves.set_title("The single model has plateaued")
    curves.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(data, out):
    s = summarize(data["runs"])
    stem = os.path.splitext(out)[0]
    lines = ["# Single model vs EMA vs snapshot ensembles vs independent models, at a converged budget", "",
             f"Recipe `{data['recipe']}`, {data['data']}, E = {data['epochs']} epochs per model (cosine decay to "
             "zero over them; snapshot arms: cosine restarts of E/M epochs in the same E), test accuracy on the "
             "10,000 test images of the exported model. Seeds per arm in the table.", "",
             "| arm | seeds | test accuracy | gain over single (points) | verdict (2 s.e.) | one model alone "
             "(mean; members, or the last snapshot) | model-epochs | wall time vs single |",
             "|---|---:|---:|---:|---|---:|---:|---:|"]
    for arm, v in s.items():
        spread = f" ± {v['std']:.4f}" if v["std"] is not None else ""
        gain = f"{100 * v['gain']:+.2f}" if "gain" in v else ""
        cost = f"{v['cost']:.2f}x" if "cost" in v else "1.00x"
        lines.append(f"| {arm} | {v['n']} | {v['mean']:.4f}{spread} | {gain} | {v.get('verdict', '')} | "
                     f"{v['members_mean']:.4f} | {v['model_epochs']} | {cost} |")
    rows = plateau(data["runs"])
    if rows:
        lines += ["", "Plateau of the single model (validation accuracy): "
                  + "; ".join(f"seed {seed}: last 3 epochs {m:.4f}, best {b:.4f} at epoch {e} of {n}"
                              for seed, m, b, e, n in rows) + "."]
    lines += ["", "| run | test accuracy | wall time | load average before → after (1, 5, 15 min) |",
              "|---|---:|---:|---|"]
    for r in data["runs"]:
        lines.append(f"| {r['arm']} seed {r['seed']} | {r['test_accuracy']:.4f} | {r['wall_seconds']:.0f} s | "
                     f"{' '.join(f'{x:.1f}' for x in r['load_before'])} → "
                     f"{' '.join(f'{x:.1f}' for x in r['load_after'])} |")
    png = write_plot(data, s, stem + ".png")
    lines += ["", f"![ensembles]({os.path.basename(png)})", "", f"Command: `{data['command']}`"]
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=os.path.join(ROOT, "recipes", "fashion_mnist.yaml"))
    parser.add_argument("--epochs", type=int, default=15, help="E: epochs per model")
    parser.add_argument("--members", type=int, default=3)
    parser.add_argument("--snapshots", type=int, nargs="+", default=[3, 5], help="cycles M of the snapshot arms")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--limit-examples", type=int, default=None, help="training images (default: all)")
    parser.add_argument("--arms", nargs="+", default=None, help="a subset of the arms (names as in the table)")
    parser.add_argument("--work-dir", default=os.path.join(ROOT, "runs", "bench_ensembles"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "ensemble_comparison.md"))
    args = parser.parse_args(argv)
    if not os.path.exists(args.recipe):
        parser.error(f"recipe not found: {args.recipe}")
    if args.epochs < 1 or args.members < 2 or any(m < 2 or m > args.epochs for m in args.snapshots):
        parser.error("need --epochs >= 1, --members >= 2 and 2 <= each --snapshots <= --epochs")
    from deeprob_keras.recipe import load_recipe, with_overrides

    settings = {"epochs": args.epochs, "limit_examples": args.limit_examples}
    recipe = with_overrides(load_recipe(args.recipe), {
        "training.epochs": args.epochs, "data.limit_examples": args.limit_examples})
    all_arms = arms(args.epochs, args.members, args.snapshots)
    unknown = [a for a in (args.arms or []) if a not in all_arms]
    if unknown:
        parser.error(f"unknown arm(s) {unknown}; the arms are {list(all_arms)}")
    json_path = results_io.json_beside(args.out)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    data = results_io.read_json(json_path, {"runs": []})
    if not isinstance(data, dict) or data.get("settings") != settings:
        data = {"runs": []}  # another budget (or the former format): start over
    data.update(settings=settings, epochs=args.epochs, recipe=os.path.relpath(os.path.abspath(args.recipe), ROOT),
                data=("all" if args.limit_examples is None else f"the first {args.limit_examples:,}")
                + f" training images of {recipe.data.dataset}",
                command=".venv/bin/python benchmarks/ensemble_comparison.py " + " ".join(
                    argv if argv is not None else sys.argv[1:]))
    done = {(r["arm"], r["seed"]) for r in data["runs"]}
    for seed in args.seeds:
        for arm, overrides in all_arms.items():
            if args.arms and arm not in args.arms:
                continue
            if (arm, seed) in done:
                print(f"ensemble_comparison: {arm} seed {seed} (from {os.path.basename(json_path)})", flush=True)
                continue
            print(f"ensemble_comparison: {arm} seed {seed} ({model_epochs(overrides, args.epochs)} model-epochs)",
                  flush=True)
            data["runs"].append(run_arm(recipe, arm, overrides, seed, args.epochs, args.work_dir))
            results_io.write_json(json_path, data)
            write_report(data, args.out)
    if data["runs"]:
        print(open(write_report(data, args.out)).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
