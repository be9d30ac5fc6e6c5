"""Where to spend a training step: width/depth variants of a recipe, timed side by side.

Builds each variant of `--recipe` (the `VARIANTS` below: model overrides) with its
precision and augmenting input pipeline, and times its training step side by
side with the others in one process (`flops_efficiency.side_by_side_step_seconds`:
every variant in turn, `--rounds` rounds, the median kept), beside its parameter
count and training FLOPs per image. It trains nothing: it says which networks
cost about the same per step, so that the validation split can choose among
them (issue 13 chose `recipes/fashion_mnist_fast_4stage.yaml` this way).

Writes benchmarks/results/architecture_scan.{md,json}.

    .venv/bin/python benchmarks/architecture_scan.py [--steps 60] [--rounds 2] [--variants base ...]
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))  # the sibling scripts, by their names

import flops_efficiency  # noqa: E402
import results_io  # noqa: E402


# variant -> model overrides of the recipe; "base" is the recipe as it is and comes first.
VARIANTS = {
    "base": {},
    "widths 16-64-192": {"model.widths": [16, 64, 192]},
    "widths 16-96-128": {"model.widths": [16, 96, 128]},
    "widths 16-96-192": {"model.widths": [16, 96, 192]},
    "widths 24-64-128": {"model.widths": [24, 64, 128]},
    "4 stages 16-48-96-192": {"model.widths": [16, 48, 96, 192]},
    "4 stages 16-64-128-256": {"model.widths": [16, 64, 128, 256]},
    "2 blocks per stage": {"model.blocks_per_stage": 2},
}


def write_report(data, out):
    rows = data["variants"]
    base = rows[next(iter(rows))]["seconds_per_step"]
    lines = [
        "# Width and depth against the cost of a training step",
        "",
        f"Variants of `{data['recipe']}`, each with the recipe's precision and augmenting input pipeline, "
        f"timed side by side in one process: {data['rounds']} rounds of {data['steps']} steps of every "
        "variant in turn, the median kept (steady state: a `fit` call's start-up is not timed). "
        "Nothing is trained here; the validation split chooses among the variants that cost about the same.",
        "",
        "| variant | parameters | MFLOPs / train image | ms / step | vs base | each round (ms) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, r in rows.items():
        lines.append(f"| {name} | {r['parameters']:,} | {r['train_flops_per_example'] / 1e6:.0f} | "
                     f"{1000 * r['seconds_per_step']:.1f} | {r['seconds_per_step'] / base:.2f}x | "
                     + ", ".join(f"{1000 * s:.0f}" for s in r["rounds"]) + " |")
    before, after = data["load_before"], data["load_after"]
    lines += ["", "One process, one measurement per variant: a VM whose speed drifts moves single rounds by "
              "~10-30%, so ratios within ~1.1x are ties.", "",
              f"Load average (1, 5, 15 min) before: {' '.join(f'{x:.1f}' for x in before)}; "
              f"after: {' '.join(f'{x:.1f}' for x in after)}.", "",
              f"Command: `{data['command']}`", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=os.path.join(ROOT, "recipes", "fashion_mnist_fast.yaml"))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limit-examples", type=int, default=None, help="override data.limit_examples (smoke runs)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "architecture_scan.md"))
    args = parser.parse_args(argv)
    if args.steps < 1 or args.rounds < 1:
        parser.error(f"--steps and --rounds must be >= 1. Received: steps={args.steps}, rounds={args.rounds}")
    names = ["base"] + [v for v in args.variants if v != "base"]
    smoke = {"data.limit_examples": args.limit_examples} if args.limit_examples else {}
    load_before = os.getloadavg()
    variants = flops_efficiency.side_by_side_step_seconds(
        args.recipe, {name: {**VARIANTS[name], **smoke} for name in names}, args.steps, args.rounds)
    data = {"recipe": os.path.relpath(os.path.abspath(args.recipe), ROOT), "steps": args.steps,
            "rounds": args.rounds, "variants": variants, "load_before": load_before, "load_after": os.getloadavg(),
            "command": ".venv/bin/python benchmarks/architecture_scan.py " + " ".join(argv or sys.argv[1:])}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    results_io.write_json(results_io.json_beside(args.out), data)
    write_report(data, args.out)
    print(f"architecture_scan: wrote {args.out}")


if __name__ == "__main__":
    main()
