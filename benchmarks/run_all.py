"""Runs every benchmark of the project, then writes docs/RESULTS.md.

Benchmarks (each its own script, each writing a Markdown results file):
augmentation throughput, callback overhead, regularization overhead,
ensembles, transfer learning, ablation, the low-data ablation (100 and 500
images per class, equal optimizer steps; resumable, each invocation stops
before 110 min), and the wall time of `make demo`
(the pipeline on its defaults).
`--budget small` (~20-25 min on an idle 2-core machine) maps to short settings
of each script and writes their results under benchmarks/results/small/
(augmentation.py has no output flag: its small-budget file is moved there and
the committed benchmarks/results/augmentation.md is put back), except the
ablation, whose small budget is the committed 3-epoch / 12,000-image run: it
resumes from benchmarks/results/ablation.json and trains only the arms missing
there (~15 min for all 16 on a loaded machine); `--budget full`
uses each script's defaults and writes benchmarks/results/. `--reuse a,b`
runs neither a nor b but puts their committed results files in the report with
the command that wrote them (for the long ones, rerun on their own).

docs/RESULTS.md gets: the machine (cores, CPU model, memory), date, TF and
Keras versions, each command with its wall time and the 1-minute load average
before and after it, the content of its results file, and the published
Fashion-MNIST figures to compare the default recipe with.

    .venv/bin/python benchmarks/run_all.py --budget small [--only ablation,transfer] [--reuse ensembles] [--no-run]
"""

import argparse
import datetime
import os
import re
import platform
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results")
PY = sys.executable


def commands(budget):
    """name -> (argv after the script, results files relative to ROOT)."""
    out = RESULTS if budget == "full" else os.path.join(RESULTS, "small")
    rel = os.path.relpath(out, ROOT)
    work = os.path.join("runs", f"bench_{budget}")
    if budget == "full":  # each script's defaults, except the epochs of the ablation and ensembles
        return {
            "augmentation": ([], [f"{rel}/augmentation.md"]),
            "callback_overhead": ([], [f"{rel}/callback_overhead.md"]),
            "regularization_overhead": ([], [f"{rel}/regularization_overhead.md"]),
            # resumes from benchmarks/results/ensemble_comparison.json (same epochs and data): arms kept
            "ensemble_comparison": (["--epochs", "15", "--limit-examples", "10000", "--seeds", "0", "1"],
                                    [f"{rel}/ensemble_comparison.md"]),
            # resumes from benchmarks/results/transfer.json (same sources and steps): finished runs are kept
            "transfer": (["--seeds", "0", "1", "2"], [f"{rel}/transfer.md"]),
            # resumes from benchmarks/results/ablation.json: arms already there are not trained again
            "ablation": (["--epochs", "3", "--seeds", "3"], [f"{rel}/ablation.md"]),
            # resumes from benchmarks/results/ablation_low_data.json; stops before 110 min (rerun to go on)
            "ablation_low_data": (["--seeds", "3"], [f"{rel}/ablation_low_data.md"]),
            # (+ the same at all 6,000 examples per class, and with 3x the epochs: their commands are inside)
            "pipeline_wall_time": ([], [f"{rel}/pipeline_wall_time.md", f"{rel}/pipeline_wall_time_6000.md",
                                        f"{rel}/pipeline_wall_time_6000_x3.md",
                                        f"{rel}/pipeline_wall_time_6000_amd.md",
                                        f"{rel}/pipeline_wall_time_6000_fixed.md",
                                        f"{rel}/pipeline_wall_time_6000_x3_fixed.md",
                                        f"{rel}/pipeline_wall_time_6000_auto.md",
                                        f"{rel}/pipeline_wall_time_6000_x3_auto.md",
                                        f"{rel}/pipeline_wall_time_auto.md"]),
            "default_recipe": (["--seeds", "0", "1", "2"], [f"{rel}/default_recipe.md"]),
            # resumes from benchmarks/results/time_to_accuracy.json (and leave_one_out.json): finished runs are kept
            # (+ the later candidates' side-by-side runs: their own commands are inside the files)
            "time_to_accuracy": (["--seeds", "0", "1", "2"], [f"{rel}/time_to_accuracy.md",
                                                               f"{rel}/time_to_accuracy_fast18.md",
                                                               f"{rel}/time_to_accuracy_4stage.md",
                                                               f"{rel}/time_to_accuracy_4stage14.md",
                                                               f"{rel}/time_to_accuracy_2x.md",
                                                               f"{rel}/time_to_accuracy_bf16.md",
                                                               f"{rel}/time_to_accuracy_fixed.md",
                                                               f"{rel}/time_to_accuracy_fused.md"]),
            # the fast recipe `make train` runs, its full arm from time_to_accuracy_bf16 (+ the earlier study of
            # fashion_mnist_fast.yaml: its command is inside)
            "leave_one_out": (["--recipe", "recipes/fashion_mnist_fast_4stage14.yaml", "--seeds", "0", "1",
                               "--full-from", f"{rel}/time_to_accuracy_bf16.json", "--costs",
                               "--out", f"{rel}/leave_one_out_4stage14.md", "--work-dir", "runs/bench_loo_4stage14"],
                              [f"{rel}/leave_one_out_4stage14.md", f"{rel}/leave_one_out.md"]),
            # the seed-0 models that time_to_accuracy (above) trained
            "tta_modes": (["--models", "runs/bench_time_to_accuracy/fashion_mnist_seed0/model.keras",
                           "runs/bench_time_to_accuracy/fashion_mnist_fast_seed0/model.keras"],
                          [f"{rel}/tta_modes.md"]),
            # the wide progressive-resizing recipe's three trained models (time_to_accuracy_fixed, seed 1 from _bf16)
            "tta_views": (["--models"] + [f"runs/bench_tta_{d}/fashion_mnist_fast_4stage_wide_pr28_seed{s}/model.keras"
                                          for d, s in (("fixed", 0), ("bf16", 1), ("fixed", 2))]
                          + ["--out", f"{rel}/tta_views_pr28.md"], [f"{rel}/tta_views_pr28.md"]),
            "flops_efficiency": ([], [f"{rel}/flops_efficiency.md"]),
            "fused_batch_norm": ([], [f"{rel}/fused_batch_norm.md"]),
            "architecture_scan": ([], [f"{rel}/architecture_scan.md"]),
            # (the committed file also times the pipeline's transfer recipe: its command is inside)
            "strategy_overhead": ([], [f"{rel}/strategy_overhead.md", f"{rel}/strategy_overhead_amd.md"]),
            # the pipeline's transfer recipe at 6,000 examples per class, as pipeline_wall_time_6000_x3_fixed wrote it
            "strategy_fresh_process": (["--recipe", "runs/bench_pipeline_6000_x3_fixed/recipe.yaml", "--epochs", "3"],
                                       [f"{rel}/strategy_fresh_process.md"]),
            # (+ the same with a predict after each epoch: its command is inside)
            "epoch_gap": ([], [f"{rel}/epoch_gap.md", f"{rel}/epoch_gap_predict.md"]),
            "retrieval": ([], [f"{rel}/retrieval.md"]),
            "random_vs_grid": ([], [f"{rel}/random_vs_grid.md"]),
        }
    return {
        "augmentation": (["--seconds", "0.3"], [f"{rel}/augmentation.md"]),
        "callback_overhead": (["--images", "2000", "--repeats", "3", "--epochs", "2",
                              "--out", f"{rel}/callback_overhead.md"], [f"{rel}/callback_overhead.md"]),
        "transfer": (["--seeds", "0", "--strong-epochs", "3", "--targets", "similar", "--sizes", "10", "100",
                      "--max-steps", "400", "--work-dir", f"{work}/transfer", "--out", rel], [f"{rel}/transfer.md"]),
        # the settings of the committed benchmarks/results/ablation.json: resumes from it (instant when complete)
        "ablation": (["--epochs", "3", "--limit-examples", "12000"], ["benchmarks/results/ablation.md"]),
        "ablation_low_data": (["--per-class", "100", "--steps", "200", "--seeds", "1", "--arms",
                               "baseline,l2,flip+tta", "--out", rel, "--work-dir", f"{work}/ablation_low_data"],
                              [f"{rel}/ablation_low_data.md"]),
        "pipeline_wall_time": (["--out", f"{rel}/pipeline_wall_time.md"], [f"{rel}/pipeline_wall_time.md"]),
        "default_recipe": (["--out", f"{rel}/default_recipe.md", "--work-dir", f"{work}/default_recipe"],
                           [f"{rel}/default_recipe.md"]),
        "time_to_accuracy": (["--seeds", "0", "--epochs", "2", "--limit-examples", "6000", "--out",
                              f"{rel}/time_to_accuracy.md", "--work-dir", f"{work}/time_to_accuracy"],
                             [f"{rel}/time_to_accuracy.md"]),
        "leave_one_out": (["--seeds", "0", "--epochs", "2", "--limit-examples", "6000", "--out",
                           f"{rel}/leave_one_out.md", "--work-dir", f"{work}/leave_one_out"],
                          [f"{rel}/leave_one_out.md"]),
        # time_to_accuracy names an overridden run's folder after its overrides (sorted by key)
        "tta_modes": (["--models", f"{work}/time_to_accuracy/fashion_mnist_seed0_limit_examples6000_epochs2/model.keras",
                       "--limit", "1000",
                       "--out", f"{rel}/tta_modes.md"], [f"{rel}/tta_modes.md"]),
        "tta_views": (["--models", f"{work}/time_to_accuracy/fashion_mnist_seed0_limit_examples6000_epochs2/model.keras",
                       "--limit", "1000", "--cache-dir", f"{work}/tta_views_cache",
                       "--out", f"{rel}/tta_views.md"], [f"{rel}/tta_views.md"]),
        "flops_efficiency": (["--steps", "20", "--out", f"{rel}/flops_efficiency.md"], [f"{rel}/flops_efficiency.md"]),
        "fused_batch_norm": (["--recipes", "recipes/fashion_mnist.yaml", "--steps", "5", "--rounds", "1",
                              "--limit-examples", "2000", "--out", f"{rel}/fused_batch_norm.md"],
                             [f"{rel}/fused_batch_norm.md"]),
        "architecture_scan": (["--steps", "10", "--rounds", "1", "--limit-examples", "2000",
                               "--variants", "4 stages 16-48-96-192", "--out", f"{rel}/architecture_scan.md"],
                              [f"{rel}/architecture_scan.md"]),
        "strategy_overhead": (["--steps", "5", "--rounds", "1", "--out", f"{rel}/strategy_overhead.md"],
                              [f"{rel}/strategy_overhead.md"]),
        "strategy_fresh_process": (["--recipe", "recipes/fashion_mnist.yaml", "--epochs", "1", "--rounds", "1",
                                    "--limit-examples", "2000", "--work-dir", f"{work}/strategy_fresh",
                                    "--out", f"{rel}/strategy_fresh_process.md"], [f"{rel}/strategy_fresh_process.md"]),
        "epoch_gap": (["--epochs", "2", "--limit-examples", "2000", "--out", f"{rel}/epoch_gap.md"],
                      [f"{rel}/epoch_gap.md"]),
        # the trained default model if there is one (runs/fashion_mnist), else 1 epoch on 12,000 images
        "retrieval": (["--queries", "500", "--train-epochs", "1", "--train-limit-examples", "12000", "--work-dir",
                       f"{work}/retrieval", "--out", f"{rel}/retrieval.md"], [f"{rel}/retrieval.md"]),
        "random_vs_grid": (["--repeats", "20", "--out", f"{rel}/random_vs_grid.md", "--figure",
                            f"{rel}/random_vs_grid.png"], [f"{rel}/random_vs_grid.md"]),
    }


# The commands that wrote the committed files of benchmarks/results/ (for --no-run).
PRODUCED_BY = {
    "augmentation": ".venv/bin/python benchmarks/augmentation.py",
    "callback_overhead": "see the Command line inside the file",
    "regularization_overhead": "see the Command line inside the file",
    "ensemble_comparison": "see the Command line inside the file",
    "transfer": "see the Command line inside the file",
    "ablation": "see the Command line inside the file",
    "ablation_low_data": "see the Latest command line inside the file",
    "pipeline_wall_time": "see the Command line inside the file",
    "default_recipe": "see the Command line inside the file",
    "time_to_accuracy": "see the Command line inside the file",
    "leave_one_out": "see the Command line inside the file",
    "flops_efficiency": "see the Command line inside the file",
    "fused_batch_norm": "see the Command line inside the file",
    "architecture_scan": "see the Command line inside the file",
    "strategy_overhead": "see the Command line inside the file",
    "strategy_fresh_process": "see the Command line inside the file",
    "epoch_gap": "see the Command line inside the file",
    "tta_modes": "see the Command line inside the file",
    "tta_views": "see the Command line inside the file",
    "retrieval": "see the Command line inside the file",
    "random_vs_grid": ".venv/bin/python benchmarks/random_vs_grid.py",
}


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    mem = "unknown"
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(line.split()[1] for line in f if line.startswith("MemTotal")))
        mem = f"{kb / 1024 ** 2:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "memory": mem, "os": platform.platform(),
            "python": platform.python_version()}


def versions():
    code = "import tensorflow as tf, keras; print(tf.__version__, keras.__version__)"
    try:
        out = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=300,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}).stdout.split()
        return {"tensorflow": out[0], "keras": out[1]}
    except Exception:  # noqa: BLE001 - the report must still be written
        return {"tensorflow": "?", "keras": "?"}


def run_one(name, argv, budget, log_dir):
    script = os.path.join("benchmarks", f"{name}.py")
    cmd = [PY, script] + argv
    shown = " ".join([".venv/bin/python", script] + argv)
    saved = None
    committed = os.path.join(RESULTS, "augmentation.md")
    if name == "augmentation" and budget != "full" and os.path.exists(committed):
        with open(committed, "rb") as f:
            saved = f.read()
    load_before = os.getloadavg()
    print(f"run_all: {shown}", flush=True)
    started = time.time()
    log = os.path.join(log_dir, f"{name}.log")
    with open(log, "w") as f:
        rc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT).returncode
    seconds = time.time() - started
    if saved is not None:  # augmentation.py always writes benchmarks/results/augmentation.md
        os.makedirs(os.path.join(RESULTS, "small"), exist_ok=True)
        shutil.copyfile(committed, os.path.join(RESULTS, "small", "augmentation.md"))
        with open(committed, "wb") as f:
            f.write(saved)
    record = {"name": name, "command": shown, "returncode": rc, "seconds": seconds,
              "load_before": load_before, "load_after": os.getloadavg(), "log": os.path.relpath(log, ROOT)}
    print(f"run_all: {name} exit {rc} in {seconds / 60:.1f} min, load {load_before[0]:.1f} -> "
          f"{record['load_after'][0]:.1f}", flush=True)
    return record


PUBLISHED = """## Published Fashion-MNIST figures (for scale)

Test accuracy on the standard 10,000-image test set, from the sources named.
Every published deep model below trains for hundreds of epochs on all 60,000
images with crops and flips; our runs are a few epochs of a ~78k-parameter
ResNet on 2 CPU cores, so only the order of magnitude is comparable.

| model | preprocessing / augmentation | test accuracy | source |
|---|---|---:|---|
{ours}| Human (crowd, no fashion expertise) | 1,000 test images, majority of 3 labels | 0.835 | Zalando README, table of submitted benchmarks |
| MLP 256-128-100 | none | 0.883 | Zalando README |
| XgBoost | standardized pixels | 0.898 | Zalando README |
| 2 Conv <100K parameters | none | 0.925 | Zalando README |
| HOG + SVM | HOG | 0.926 | Zalando README |
| ResNet18 | normalization, flips, translation, rotation | 0.949 | Zalando README |
| MobileNet | horizontal flips | 0.950 | Zalando README |
| DenseNet-BC 768K params | crops, flips | 0.954 | Zalando README |
| WRN-28-10 | crops, flips | 0.959 | Zalando README |
| WRN-28-10 + Random Erasing | crops, flips, random erasing | 0.963 | Zalando README |
| WRN40-4 8.9M params | crops, flips | 0.967 | Zalando README |
| ResNet-20, baseline → + random erasing | the repository's training script (+ RE, p = 0.5) | 0.9561 → 0.9598 (error 4.39 → 4.02 %) | Random Erasing code README (Zhong et al.) |
| ResNet-110, baseline → + random erasing | same script | 0.9560 → 0.9599 (error 4.40 → 4.01 %) | Random Erasing code README |
| WRN-28-10, baseline → + random erasing | same script | 0.9599 → 0.9635 (error 4.01 → 3.65 %) | Random Erasing code README |
| best scikit-learn classifier (SVC, C=10, RBF kernel) | none | ~0.897 | **not verified here**: Zalando's benchmark site / the Fashion-MNIST paper (arXiv:1708.07747); the README only links it |

Sources:
- Zalando Research, *Fashion-MNIST* README, section "Benchmark" (table of submitted
  benchmarks, "we haven't yet tested these results"): https://github.com/zalandoresearch/fashion-mnist#benchmark
- Zhong, Zheng, Kang, Li, Yang, *Random Erasing Data Augmentation*, arXiv:1708.04896 (AAAI 2020);
  results table of the code repository https://github.com/zhunzhong07/Random-Erasing (top-1 error, %).
  The figures "ResNet-20 94.17 → 94.48" and "WRN-28-10 95.92 → 96.35" that circulate for this paper
  could **not** be found in that table (it gives ResNet-20 95.61 → 95.98 and WRN-28-10 95.99 → 96.35);
  the arXiv versions of the paper may differ; we quote the repository table only.
- Xiao, Rasul, Vollgraf, *Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning
  Algorithms*, arXiv:1708.07747 (the scikit-learn benchmark).
"""


def our_rows():
    """Table rows of our default recipe (benchmarks/results/default_recipe.json), if it has run."""
    path = os.path.join(RESULTS, "default_recipe.json")
    if not os.path.exists(path):
        return ""
    import json

    import numpy as np

    with open(path) as f:
        data = json.load(f)
    acc = np.array([r["test_accuracy"] for r in data["runs"]])
    spread = f" ± {acc.std(ddof=1):.4f}" if len(acc) > 1 else ""
    minutes = np.mean([r["train_seconds"] for r in data["runs"]]) / 60
    r = data["runs"][0]
    params = f"{r['parameters'] / 1000:.0f}k params, " if r.get("parameters") else ""
    return (f"| **ours: `{data['recipe']}`** ({params}{r['epochs']} epochs, {minutes:.1f} min of training on "
            f"2 CPU cores) | see the recipe | **{acc.mean():.4f}{spread}** ({len(acc)} seed(s)) | "
            f"`{data['command']}` |\n")


def write_results(records, budget, mach, vers, path, notes=()):
    lines = ["# Results", "",
             f"Written by `benchmarks/run_all.py --budget {budget}` on "
             f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')} (local time).", "",
             "## Machine", "",
             "The machine this file was written on. With `--no-run` its tables come from earlier runs, which "
             "may have been made on another machine of this kind (the time-to-accuracy reports name each "
             "run's CPU).", "",
             f"- {mach['nproc']} CPU cores ({mach['cpu']}), {mach['memory']} memory, {mach['os']}",
             f"- Python {mach['python']}, TensorFlow {vers['tensorflow']}, Keras {vers['keras']}",
             "- The machine is shared: other jobs ran during the benchmarks. Each command below shows the "
             "1-minute load average before and after it (2 cores: a load above 2 means the benchmark got "
             "less than the whole machine). Compare ratios measured within one run, not absolute times.", ""]
    lines += list(notes)
    lines += ["## Benchmarks", ""]
    for r in records:
        lines += [f"### {r['name']}", "",
                  (f"Command: `{r['command']}`" if not r["command"].startswith("see ") else
                   f"Command: {r['command']}") + (f" — exit code {r['returncode']}" if r.get("returncode") else ""),
                  ""]
        if r.get("seconds") is not None:
            lines.append(f"Wall time {r['seconds'] / 60:.1f} min; load average {r['load_before'][0]:.1f} before, "
                         f"{r['load_after'][0]:.1f} after.")
            lines.append("")
        for rel in r["files"]:
            full = os.path.join(ROOT, rel)
            if os.path.exists(full):
                with open(full) as f:
                    body = f.read().strip()
                # demote the file's own headings below this section's
                body = "\n".join(("###" + line) if line.startswith("#") else line for line in body.splitlines())
                # images linked beside the results file: relative to the report's folder instead
                folder = os.path.relpath(os.path.dirname(full), os.path.dirname(os.path.abspath(path)))
                body = re.sub(r"\]\((?![a-z]+:|/)([^)/]+\.png)\)", lambda m: f"]({folder}/{m.group(1)})", body)
                lines += [f"Results file `{rel}`:", "", body, ""]
            else:
                lines += [f"Results file `{rel}`: missing (the command failed or has not run).", ""]
    lines.append(PUBLISHED.replace("{ours}", our_rows()))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", choices=("small", "full"), default="small")
    parser.add_argument("--only", default=None, help="comma-separated subset of the benchmarks")
    parser.add_argument("--reuse", default="", help="comma-separated benchmarks not to run: their committed "
                        "results files go into the report as they are")
    parser.add_argument("--no-run", action="store_true",
                        help="run nothing: write docs/RESULTS.md from the results files that exist")
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "RESULTS.md"))
    args = parser.parse_args(argv)
    table = commands(args.budget)
    names = list(table) if not args.only else [n.strip() for n in args.only.split(",")]
    reuse = {n.strip() for n in args.reuse.split(",") if n.strip()}
    unknown = [n for n in names + sorted(reuse) if n not in table]
    if unknown:
        parser.error(f"unknown benchmarks {unknown}; choose from {list(table)}")
    log_dir = os.path.join(ROOT, "runs", f"bench_{args.budget}", "logs")
    os.makedirs(log_dir, exist_ok=True)
    records = []
    for name in names:
        argv_, files = table[name]
        if args.no_run or name in reuse:  # the committed files of benchmarks/results/, with the command that wrote each
            records.append({"name": name, "command": PRODUCED_BY[name] + " (run earlier, not by run_all)",
                            "returncode": 0, "seconds": None, "files": commands("full")[name][1]})
            continue
        record = run_one(name, argv_, args.budget, log_dir)
        record["files"] = files
        records.append(record)
        write_results(records, args.budget, machine(), {"tensorflow": "?", "keras": "?"}, args.out)
    path = write_results(records, args.budget, machine(), versions(), args.out)
    total = sum(r["seconds"] or 0 for r in records)
    print(f"run_all: {len(records)} benchmarks in {total / 60:.1f} min; report {path}", flush=True)
    return 0 if all(r["returncode"] == 0 for r in records) else 1


if __name__ == "__main__":
    sys.exit(main())
