"""Wall time of the TFX pipeline against plain `deeprob train` of the same recipe, with each component's share.

In one invocation, in an empty working directory (nothing reused from an earlier run):

1. `deeprob pipeline run` on the defaults of `make demo`, without the Tuner
   (`--tuner` keeps it): pretrains the backbone, writes the examples, runs every
   component; its run report (`<pipeline root>/run_report.json`) gives each
   component's wall time;
2. `deeprob serve-check` on the pushed model (the second half of `make demo`);
3. `deeprob train` of the very recipe the Trainer trained (resolved from the
   run's saved config: same backbone file, same hyperparameters), from the
   dataset files.

The ratio is the pipeline's wall time without the backbone pretraining (both
runs need the backbone; the pipeline trains it once, when missing) over plain
training's, both whole processes. Goal: within 1.3x. The two runs see the same
classes and examples per class, and both hold out the recipe's 10% for
validation from the training images (the pipeline from its TFRecords, since
stop 32; before, it validated on its eval split). The pipeline tests on its
eval examples, `deeprob train` on the test images of the classes.

    .venv/bin/python benchmarks/pipeline_wall_time.py [--work-dir runs/bench_pipeline] [--tuner]

Writes benchmarks/results/pipeline_wall_time.md and .json.

`--examples-per-class N` trains both on N training examples of each of the
recipe's classes instead of the demo's 2,000, and evaluates the pipeline on
the whole test split of those classes (N = 6000: all of Fashion-MNIST's
classes 5-9, 30,000 images). The pipeline's components other than the
Trainer cost about the same at any size, so this shows how the ratio falls
as training grows:

    .venv/bin/python benchmarks/pipeline_wall_time.py --examples-per-class 6000 \
        --out benchmarks/results/pipeline_wall_time_6000.md --work-dir runs/bench_pipeline_6000

`--epochs-scale K` trains both K times the recipe's epochs (each transfer
phase's): a longer training under the same fixed costs, which tests the
report's prediction of how long a training must be for the pipeline to stay
within 1.3x (`break_even`).
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEEPROB = os.path.join(os.path.dirname(sys.executable), "deeprob")
GOAL = 1.3
BACKBONE_STEP = "backbone"  # the run report's row for the backbone pretraining (deeprob_pipeline.runners)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))  # the sibling scripts, by their names
import results_io  # noqa: E402


def timed(cmd, cwd, log):
    load = os.getloadavg()[0]
    started = time.time()
    with open(log, "w") as f:
        rc = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": ROOT}).returncode
    return {"command": " ".join(["deeprob"] + cmd[1:]), "returncode": rc, "seconds": time.time() - started,
            "load_before": load, "load_after": os.getloadavg()[0], "log": log}


# A Keras epoch line at verbose=2: "422/422 - 12s - 29ms/step - accuracy: ...".
EPOCH_LINE = re.compile(r"^\s*\d+/\d+ - \d+s - (\d+(?:\.\d+)?)(ms|s)/step\b", re.M)


def epoch_ms_per_step(log_text):
    """The ms per step of every Keras epoch line (verbose=2) in `log_text`, in order."""
    return [float(value) * (1000.0 if unit == "s" else 1.0) for value, unit in EPOCH_LINE.findall(log_text)]


def phase_medians(log_text, phases):
    """{phase: median ms per step of its epochs}, the phases ([(name, epochs)], in order) being the last epochs
    of `log_text` (a pipeline's log has the backbone's pretraining before them); None when epochs are missing."""
    total = sum(epochs for _, epochs in phases)
    ms = epoch_ms_per_step(log_text)[-total:] if total else []
    if total == 0 or len(ms) < total:
        return None
    medians, start = {}, 0
    for name, epochs in phases:
        medians[name] = statistics.median(ms[start:start + epochs])
        start += epochs
    return medians


def epoch_comparison(pipeline_log, plain_log, phases):
    """Per phase of the trained recipe ([(name, epochs)], in order), the median ms per step of the
    Trainer's epochs and of plain training's, and their ratio: the training itself compared, robust to a
    few epochs in one of this VM's slow stretches (unlike the sums). The Trainer's epochs are the last
    ones of the pipeline's log (the backbone's pretraining comes before them). None when a log lacks them.
    """
    trainer, plain = phase_medians(pipeline_log, phases), phase_medians(plain_log, phases)
    if trainer is None or plain is None:
        return None
    return [{"phase": name, "epochs": epochs, "trainer_median_ms": trainer[name], "plain_median_ms": plain[name],
             "ratio": trainer[name] / plain[name]} for name, epochs in phases]


def phases_of(recipe_path):
    """[(phase name, epochs)] of a recipe file, as its run trains them (`plan_phases`)."""
    from deeprob_keras.recipe import load_recipe
    from deeprob_keras.training.plan import global_batch_size, plan_phases

    recipe = load_recipe(recipe_path)
    return [(p.name, p.epochs) for p in plan_phases(recipe, global_batch_size(recipe))]


def epochs_from_logs(work):
    """`epoch_comparison` of a work dir's pipeline.log and plain.log for its recipe.yaml; None when missing."""
    paths = [os.path.join(work, name) for name in ("pipeline.log", "plain.log", "recipe.yaml")]
    if not all(os.path.exists(p) for p in paths):
        return None
    with open(paths[0]) as f, open(paths[1]) as g:
        return epoch_comparison(f.read(), g.read(), phases_of(paths[2]))


def trained_recipe(saved_config, path):
    """Writes the recipe the pipeline's Trainer trained (`resolve_recipe` of the run's saved, resolved
    config: the backbone file it pretrained, no Tuner) to `path`; returns `path`."""
    from deeprob_keras.recipe import save_recipe
    from deeprob_pipeline.config import load_pipeline_config, resolve_recipe

    return save_recipe(resolve_recipe(load_pipeline_config(saved_config)), path)


def compare(pipeline_step, run_report, plain_step):
    """The numbers of the comparison: pipeline seconds without the backbone, plain seconds, their ratio,
    and the Trainer component's seconds over plain training's."""
    rows = (run_report or {}).get("wall_time", [])
    backbone = sum(r["seconds"] for r in rows if r["step"] == BACKBONE_STEP)
    trainer = sum(r["seconds"] for r in rows if r["step"] == "Trainer")
    pipeline = pipeline_step["seconds"] - backbone
    plain = plain_step["seconds"] if plain_step and plain_step["returncode"] == 0 else None
    trainer_ratio = trainer / plain if plain and trainer else None
    fixed = pipeline - trainer if trainer else None
    return {"pipeline_seconds": pipeline, "backbone_seconds": backbone, "plain_seconds": plain,
            "ratio": pipeline / plain if plain else None, "trainer_seconds": trainer or None,
            "trainer_ratio": trainer_ratio, "fixed_seconds": fixed,
            "break_even_plain_seconds": break_even(fixed, trainer_ratio), "goal": GOAL}


def break_even(fixed_seconds, trainer_ratio, goal=GOAL):
    """The shortest plain training for which the pipeline is within `goal` x of it.

    The pipeline costs its Trainer (`trainer_ratio` x plain training's T seconds) plus a part that does
    not grow with training (`fixed_seconds`: start-up, writing and importing the examples, statistics,
    the Evaluator, the push), so pipeline / plain = trainer_ratio + fixed_seconds / T, which is at most
    `goal` once T >= fixed_seconds / (goal - trainer_ratio). None when the Trainer alone exceeds the goal
    (no training is long enough) or a number is missing.
    """
    if fixed_seconds is None or trainer_ratio is None or trainer_ratio >= goal:
        return None
    return max(0.0, fixed_seconds) / (goal - trainer_ratio)


def config_text(tuner, examples_per_class=None, epochs_scale=None):
    """The benchmark's pipeline config: the defaults (paths relative to the work dir), the Tuner on or off;
    with `examples_per_class`, that many training examples per class and the whole test split; with
    `epochs_scale` K, K times the default recipe's epochs (each transfer phase's)."""
    text = f"enable_tuner: {'true' if tuner else 'false'}\n"
    overrides = {}
    if examples_per_class is not None:
        text += "max_train_examples: null\nmax_eval_examples: null\n"
        overrides["data.examples_per_class"] = int(examples_per_class)
    if epochs_scale is not None and epochs_scale != 1:
        from deeprob_pipeline.config import load_pipeline_config, resolve_recipe

        recipe = resolve_recipe(load_pipeline_config())
        overrides["training.epochs"] = recipe.training.epochs * int(epochs_scale)
        if recipe.transfer is not None and recipe.transfer.mode == "two_phase":
            overrides["transfer.feature_extraction_epochs"] = recipe.transfer.feature_extraction_epochs * int(epochs_scale)
    if overrides:
        text += f"recipe_overrides: {json.dumps(overrides)}\n"
    return text


def command_line(tuner=False, examples_per_class=None, out=None, work_dir=None, epochs_scale=None):
    parts = [".venv/bin/python benchmarks/pipeline_wall_time.py"]
    if tuner:
        parts.append("--tuner")
    if examples_per_class is not None:
        parts += ["--examples-per-class", str(examples_per_class)]
    if epochs_scale is not None and epochs_scale != 1:
        parts += ["--epochs-scale", str(epochs_scale)]
    for flag, value in (("--out", out), ("--work-dir", work_dir)):
        if value is not None:
            parts += [flag, os.path.relpath(value, ROOT) if os.path.isabs(value) else value]
    return " ".join(parts)


def report_lines(steps, run_report, comparison, served=None, plain_metrics=None, tuner=False,
                 examples_per_class=None, command=None, epochs_scale=None, epochs=None):
    """The markdown report: commands, the ratio, each component's share, accuracies."""
    lines = ["# The TFX pipeline against plain `deeprob train` of the same recipe", "",
             "Run in an empty working directory (nothing cached), venv already installed; "
             f"pipeline {'with' if tuner else 'without'} the Tuner; "
             + (f"{examples_per_class:,} training examples per class, the whole test split of the classes"
                if examples_per_class is not None else "the demo's data (2,000 training examples per class)")
             + (f"; {epochs_scale}x the recipe's epochs." if epochs_scale not in (None, 1) else "."),
             "",
             "| command | exit | wall time | load avg before → after |", "|---|---:|---:|---|"]
    for s in steps:
        lines.append(f"| `{s['command']}` | {s['returncode']} | {s['seconds'] / 60:.1f} min "
                     f"({s['seconds']:.0f} s) | {s['load_before']:.1f} → {s['load_after']:.1f} |")
    c = comparison
    lines += [""]
    if c["ratio"] is not None:
        verdict = "within" if c["ratio"] <= c["goal"] else "above"
        lines += [f"**Pipeline / plain training: {c['ratio']:.2f}x** ({verdict} the {c['goal']}x goal): pipeline "
                  f"{c['pipeline_seconds']:.0f} s without the backbone pretraining ({c['backbone_seconds']:.0f} s), "
                  f"`deeprob train` {c['plain_seconds']:.0f} s."]
        if c["trainer_ratio"] is not None:
            lines += ["", f"The Trainer component alone: {c['trainer_seconds']:.0f} s, "
                          f"{c['trainer_ratio']:.2f}x plain training."]
            if c.get("fixed_seconds") is not None:
                lines += ["", f"The rest of the pipeline ({c['fixed_seconds']:.0f} s: start-up, the examples, "
                              "ExampleGen, statistics, the Evaluator, the push) does not grow with training, so "
                              f"pipeline / plain = {c['trainer_ratio']:.2f} + {c['fixed_seconds']:.0f} s / "
                              "(plain training's seconds), if both held still: "
                              + (f"predicted within {c['goal']}x for a plain training of {c['break_even_plain_seconds']:.0f} s "
                                 f"({c['break_even_plain_seconds'] / 60:.1f} min) or longer; this one took "
                                 f"{c['plain_seconds']:.0f} s. A prediction, not a measurement: the machine's speed drifts "
                                 "between runs (the Trainer's ratio with it)."
                                 if c.get("break_even_plain_seconds") is not None else
                                 f"predicted never within {c['goal']}x while the Trainer alone is above it.")]
    else:
        lines += ["No ratio: a command failed (see its log)."]
    if epochs:
        lines += ["", "The training itself, epoch by epoch (median ms per step of each phase's epochs, from the "
                      "Keras lines of both logs; a median is not moved by a few epochs in one of the VM's slow "
                      "stretches, a sum is):", "",
                  "| phase | epochs | Trainer | plain training | Trainer / plain |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {r['phase']} | {r['epochs']} | {r['trainer_median_ms']:.0f} ms | {r['plain_median_ms']:.0f} ms "
                  f"| {r['ratio']:.2f}x |" for r in epochs]
    rows = (run_report or {}).get("wall_time", [])
    if rows:
        states = (run_report or {}).get("executions", {})
        lines += ["", "Where the pipeline's time went (its run report, `run_report.json`):", "",
                  "| step | state | seconds | share |", "|---|---|---:|---:|"]
        lines += [f"| {r['step']} | {', '.join(states.get(r['step'], []))} | {r['seconds']:.1f} | "
                  f"{100 * r['share']:.1f}% |" for r in rows]
        lines.append(f"| total | | {run_report['seconds']:.1f} | 100% |")
    if served:
        shown = {k: v for k, v in served.items() if not isinstance(v, (list, dict))}
        lines += ["", "Served model (serve-check's JSON): " + ", ".join(f"{k} = {v}" for k, v in shown.items())]
    if plain_metrics:
        lines += ["", f"Plain training: test accuracy {plain_metrics.get('test_accuracy', float('nan')):.4f} "
                      "on the 5,000 test images of the same classes."]
    lines += ["", f"Command: `{command or command_line(tuner, examples_per_class)}`", ""]
    return lines


def rewrite_report(out, work_dir):
    """Rewrites `out` from the JSON its run wrote (after a change to the report's text), running nothing."""
    saved = results_io.read_json(os.path.splitext(out)[0] + ".json")
    if saved is None:
        print(f"pipeline_wall_time: no {os.path.splitext(out)[0]}.json to rewrite {out} from", file=sys.stderr)
        return 2
    report_path = os.path.join(os.path.abspath(work_dir), "runs", "pipeline", "root", "run_report.json")
    run_report = results_io.read_json(report_path) or {"wall_time": saved.get("wall_time") or []}
    if "seconds" not in run_report:
        run_report["seconds"] = sum(r["seconds"] for r in run_report["wall_time"])
    steps = saved["steps"]
    plain = next((s for s in steps[1:] if s["command"].startswith("deeprob train ")), None)
    comparison = compare(steps[0], run_report, plain)
    epochs = saved.get("epochs") or epochs_from_logs(os.path.abspath(work_dir))
    if epochs and not saved.get("epochs"):  # kept with the run's numbers
        saved["epochs"] = epochs
        results_io.write_json(results_io.json_beside(out), saved, indent=2)
    lines = report_lines(steps, run_report, comparison, saved.get("served"), saved.get("plain_metrics"),
                         saved.get("tuner", False), saved.get("examples_per_class"), saved.get("command"),
                         saved.get("epochs_scale"), epochs)
    with open(out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", default=os.path.join(ROOT, "runs", "bench_pipeline"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "pipeline_wall_time.md"))
    parser.add_argument("--tuner", action="store_true", help="keep the Tuner in the pipeline (as make demo does)")
    parser.add_argument("--examples-per-class", type=int, default=None,
                        help="training examples per class for both runs (default: the demo's 2,000)")
    parser.add_argument("--epochs-scale", type=int, default=None, metavar="K",
                        help="K times the recipe's epochs for both runs (a longer training, same fixed costs)")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite --out from its JSON (and the work dir's run report, if kept) without running")
    args = parser.parse_args(argv)
    if args.report_only:
        return rewrite_report(args.out, args.work_dir)
    if args.examples_per_class is not None and args.examples_per_class < 1:
        parser.error(f"--examples-per-class: expected a positive integer. Received: {args.examples_per_class}")
    if args.epochs_scale is not None and args.epochs_scale < 1:
        parser.error(f"--epochs-scale: expected a positive integer. Received: {args.epochs_scale}")
    if not os.path.exists(DEEPROB):
        parser.error(f"{DEEPROB} not found: run this with the venv's python (.venv/bin/python)")
    work = os.path.abspath(args.work_dir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    config = os.path.join(work, "pipeline.yaml")
    with open(config, "w") as f:
        f.write(config_text(args.tuner, args.examples_per_class, args.epochs_scale))
    steps = [timed([DEEPROB, "pipeline", "run", "--config", config], work, os.path.join(work, "pipeline.log"))]
    print(f"pipeline run: exit {steps[0]['returncode']} in {steps[0]['seconds']:.0f} s", flush=True)
    run_report = results_io.read_json(os.path.join(work, "runs", "pipeline", "root", "run_report.json"))
    served = plain_metrics = plain = None
    if steps[0]["returncode"] == 0 and run_report:
        served_json = os.path.join(work, "serve_check.json")
        steps.append(timed([DEEPROB, "serve-check", "runs/pipeline/serving", "--json", served_json],
                           work, os.path.join(work, "serve_check.log")))
        print(f"serve-check: exit {steps[-1]['returncode']} in {steps[-1]['seconds']:.0f} s", flush=True)
        served = results_io.read_json(served_json)
        recipe = trained_recipe(os.path.join(work, "runs", "pipeline", "root", "pipeline_config.yaml"),
                                os.path.join(work, "recipe.yaml"))
        plain = timed([DEEPROB, "train", recipe, "--out", os.path.join(work, "plain")], work,
                      os.path.join(work, "plain.log"))
        steps.append(plain)
        print(f"plain train: exit {plain['returncode']} in {plain['seconds']:.0f} s", flush=True)
        plain_metrics = results_io.read_json(os.path.join(work, "plain", "metrics.json"))
    comparison = compare(steps[0], run_report, plain)
    command = command_line(args.tuner, args.examples_per_class,
                           args.out if args.out != parser.get_default("out") else None,
                           args.work_dir if args.work_dir != parser.get_default("work_dir") else None,
                           args.epochs_scale)
    epochs = epochs_from_logs(work) if plain is not None else None
    lines = report_lines(steps, run_report, comparison, served, plain_metrics, args.tuner,
                         args.examples_per_class, command, args.epochs_scale, epochs)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    results_io.write_json(results_io.json_beside(args.out), {
        "steps": steps, "comparison": comparison, "wall_time": (run_report or {}).get("wall_time"),
        "served": served, "plain_metrics": plain_metrics, "tuner": args.tuner,
        "examples_per_class": args.examples_per_class, "epochs_scale": args.epochs_scale,
        "epochs": epochs, "command": command}, indent=2)
    print("\n".join(lines))
    return 0 if all(s["returncode"] == 0 for s in steps) else 1


if __name__ == "__main__":
    sys.exit(main())
