"""Wall time of the README's main command (`make demo`): the TFX pipeline on its defaults, then serve-check.

Runs exactly what `make demo` runs, `deeprob pipeline run` then
`deeprob serve-check runs/pipeline/serving`, in an empty working directory
(so ML Metadata, the pipeline root and the serving directory start empty and
nothing is reused from an earlier run), and writes the wall time of each
command, the load average around it and the served model's accuracy to
benchmarks/results/pipeline_wall_time.md.

    .venv/bin/python benchmarks/pipeline_wall_time.py [--work-dir runs/bench_pipeline]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEEPROB = os.path.join(os.path.dirname(sys.executable), "deeprob")


def timed(cmd, cwd, log):
    load = os.getloadavg()[0]
    started = time.time()
    with open(log, "w") as f:
        rc = subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": ROOT}).returncode
    return {"command": " ".join(["deeprob"] + cmd[1:]), "returncode": rc, "seconds": time.time() - started,
            "load_before": load, "load_after": os.getloadavg()[0], "log": log}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", default=os.path.join(ROOT, "runs", "bench_pipeline"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "pipeline_wall_time.md"))
    args = parser.parse_args(argv)
    if not os.path.exists(DEEPROB):
        parser.error(f"{DEEPROB} not found: run this with the venv's python (.venv/bin/python)")
    shutil.rmtree(args.work_dir, ignore_errors=True)
    os.makedirs(args.work_dir)
    result_json = os.path.join(args.work_dir, "serve_check.json")
    steps = [timed([DEEPROB, "pipeline", "run"], args.work_dir, os.path.join(args.work_dir, "pipeline.log"))]
    print(f"pipeline run: exit {steps[0]['returncode']} in {steps[0]['seconds']:.0f} s", flush=True)
    if steps[0]["returncode"] == 0:
        steps.append(timed([DEEPROB, "serve-check", "runs/pipeline/serving", "--json", result_json],
                           args.work_dir, os.path.join(args.work_dir, "serve_check.log")))
        print(f"serve-check: exit {steps[1]['returncode']} in {steps[1]['seconds']:.0f} s", flush=True)
    served = None
    if os.path.exists(result_json):
        with open(result_json) as f:
            served = json.load(f)
    lines = ["# `make demo`: the pipeline on its defaults, then serve-check", "",
             "Run in an empty working directory (nothing cached), venv already installed.", "",
             "| command | exit | wall time | load avg before → after |", "|---|---:|---:|---|"]
    for s in steps:
        lines.append(f"| `{s['command']}` | {s['returncode']} | {s['seconds'] / 60:.1f} min "
                     f"({s['seconds']:.0f} s) | {s['load_before']:.1f} → {s['load_after']:.1f} |")
    total = sum(s["seconds"] for s in steps)
    lines += ["", f"Total: {total / 60:.1f} min."]
    if served:
        shown = {k: v for k, v in served.items() if not isinstance(v, (list, dict))}
        lines += ["", "Served model (serve-check's JSON): " + ", ".join(f"{k} = {v}" for k, v in shown.items())]
    lines += ["", "Command: `.venv/bin/python benchmarks/pipeline_wall_time.py`", ""]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    return 0 if all(s["returncode"] == 0 for s in steps) else 1


if __name__ == "__main__":
    sys.exit(main())
