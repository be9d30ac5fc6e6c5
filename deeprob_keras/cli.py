"""The `deeprob` command line."""

import argparse
import importlib
import os
import sys
import traceback

from deeprob_keras.cli_errors import Parser, int_at_least, output_dir, output_file, user_error, verbose_requested
from deeprob_keras.quiet import quiet_logs


# The library's own feature modules that add sub-commands (doctor, lr-find, tune, transfer, retrieve).
PLUGIN_MODULES = ("deeprob_keras.doctor.cli", "deeprob_keras.transfer_cli", "deeprob_keras.retrieval.cli")
# Sub-commands that other packages add: entry points `name = "module:add_fn [extra]"`
# (pyproject.toml). The library never imports them by name.
ENTRY_POINT_GROUP = "deeprob.commands"
# The install extra behind each optional command, for the hint when it is missing.
OPTIONAL_COMMANDS = {"pipeline": "pipeline", "serve-check": "pipeline"}


def _load(path, overrides):
    from deeprob_keras.recipe import load_recipe, with_overrides

    recipe = load_recipe(path)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    return with_overrides(recipe, overrides) if overrides else recipe


def cmd_train(args):
    from deeprob_keras.training import train_recipe

    recipe = _load(args.recipe, {"training.epochs": args.epochs, "data.limit_examples": args.limit_examples,
                                 "seed": args.seed})
    out = args.out or os.path.join("runs", recipe.name)
    if args.multi_worker:
        return _train_multi_worker(recipe, out)
    if _finished_already(recipe, out, args.overwrite):
        return 0
    from deeprob_keras.training.strategy import choose_strategy

    strategy = choose_strategy(args.strategy, args.cpu_replicas)
    result = train_recipe(recipe, out, strategy=strategy, verbose=1 if sys.stdout.isatty() else 2)
    m = result.metrics
    print(f"\ntest accuracy: {m['test_accuracy']:.4f}   test loss: {m['test_loss']:.4f}   "
          f"epochs: {m['epochs_run']}   median epoch: {m['seconds_per_epoch']:.1f} s")
    print_outputs(result.paths)
    return 0


def _train_multi_worker(recipe, out):
    from deeprob_keras.training.multi_worker import ClusterConfigError, train_multi_worker

    try:
        result = train_multi_worker(recipe, out)
    except ClusterConfigError as e:
        print(f"deeprob: {e}", file=sys.stderr)
        return 2
    m = result.metrics
    # Every worker reports its weights: equal digests mean the replicas stayed in sync.
    print(f"deeprob: weights sha256 {m['weights_sha256']}   replicas in sync: {m['replicas']}   "
          f"workers: {m['workers']}   local examples (last epoch): {m['local_examples']}   "
          f"local input checksum: {m['local_input_checksum']:.1f}")
    if result.paths:  # the chief
        print(f"\ntest accuracy: {m['test_accuracy']:.4f}   test loss: {m['test_loss']:.4f}   "
              f"epochs: {m['epochs_run']}   train time: {m['train_seconds']:.1f} s")
        print_outputs(result.paths)
    return 0


def cmd_multi_worker_local(args):
    import time

    from deeprob_keras.training.multi_worker import WorkerFailed, run_local_workers

    overrides = {"training.epochs": args.epochs, "data.limit_examples": args.limit_examples, "seed": args.seed}
    if args.workers < 1:
        print(f"deeprob: --workers must be >= 1. Received: --workers {args.workers}", file=sys.stderr)
        return 2
    recipe = _load(args.recipe, overrides)  # a bad recipe fails here, once, before any worker starts
    out = args.out or os.path.join("runs", recipe.name)
    if _finished_already(recipe, out, args.overwrite):  # another recipe's run: refused before any worker starts
        return 0
    argv = [sys.executable, "-m", "deeprob_keras.cli", "train", args.recipe, "--multi-worker", "--out", out]
    for flag, value in (("--epochs", args.epochs), ("--limit-examples", args.limit_examples), ("--seed", args.seed)):
        if value is not None:
            argv += [flag, str(value)]
    print(f"deeprob: starting {args.workers} workers on 127.0.0.1: {' '.join(argv[1:])}", flush=True)
    started = time.time()
    try:
        run_local_workers(argv, workers=args.workers)
    except WorkerFailed as e:
        print(f"deeprob: multi-worker run failed: {e}", file=sys.stderr)
        return e.returncode if e.returncode > 0 else 1
    print(f"deeprob: {args.workers} workers finished in {time.time() - started:.1f} s; outputs in "
          f"{os.path.abspath(out)}")
    return 0


def _finished_already(recipe, out, overwrite):
    """True (after saying so) when --out holds this recipe's finished run; --overwrite clears --out first.
    Raises `RunDirConflict` when --out holds another recipe's run."""
    from deeprob_keras.training import run_dir

    if run_dir.check_out_dir(out, recipe, overwrite) != "complete":
        return False
    print(f"deeprob: {out} already holds this recipe's finished run ({os.path.join(out, 'metrics.json')}); "
          "nothing retrained (--overwrite to train it again)")
    return True


def print_outputs(paths):
    """The closing lines of every command that writes artifacts: where each one is."""
    print("outputs:")
    for name, path in paths.items():
        print(f"  {name:<18} {path}")


def cmd_schedule_plot(args):
    from deeprob_keras.schedules import build_schedule, plot_schedule

    from deeprob_keras.training.plan import RunPlan, global_batch_size

    recipe = _load(args.recipe, {"training.epochs": args.epochs})
    batch = global_batch_size(recipe)  # one replica
    if args.steps_per_epoch is None:
        from deeprob_keras.training import load_recipe_datasets

        num_train = load_recipe_datasets(recipe, batch).num_examples["train"]
    else:
        num_train = args.steps_per_epoch * batch
    plan = RunPlan.from_recipe(recipe, num_train)
    steps_per_epoch, epochs = plan.steps_per_epoch, plan.epochs
    schedule = build_schedule(plan.schedule_spec(recipe.schedule), plan.learning_rate, steps_per_epoch, epochs)
    out = args.out or f"{recipe.name}_schedule.png"
    plot_schedule(schedule, steps_per_epoch * epochs, out, steps_per_epoch=steps_per_epoch,
                  title=f"{recipe.name}: {recipe.schedule.name}")
    print(f"learning-rate plot: {os.path.abspath(out)}")
    return 0


def _training_diverged():
    from deeprob_keras.training import TrainingDiverged

    return TrainingDiverged


def _entry_points():
    from importlib.metadata import entry_points

    eps = entry_points()
    if hasattr(eps, "select"):
        return list(eps.select(group=ENTRY_POINT_GROUP))
    return list(eps.get(ENTRY_POINT_GROUP, ()))  # Python < 3.10 API shape


def _missing_command(subparsers, name, extra):
    """`deeprob NAME ...` when the package behind NAME is not installed: one line naming the extra, exit 2."""

    def cmd_missing(args):
        print(f"deeprob: `deeprob {name}` needs the {extra} extra: pip install 'deeprob-keras[{extra}]'",
              file=sys.stderr)
        return 2

    p = subparsers.add_parser(name, help=f"(not installed: pip install 'deeprob-keras[{extra}]')", add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_missing)


def _add_plugin_commands(subparsers):
    """Sub-commands of the library's feature modules, then of the `deeprob.commands` entry points."""
    for module_name in PLUGIN_MODULES:
        importlib.import_module(module_name).add_commands(subparsers)
    added = set()
    for ep in _entry_points():
        if ep.name in added:
            continue
        try:
            add = ep.load()
        except ModuleNotFoundError as e:  # the extra's dependencies (or the package itself) are not installed
            if e.name and e.name.startswith(ep.value.split(":")[0].split(".")[0] + "."):
                raise  # a module of the plugin's own package is missing: a bug, not a missing extra
            continue
        add(subparsers)
        added.add(ep.name)
    for name, extra in OPTIONAL_COMMANDS.items():
        if name not in added:
            _missing_command(subparsers, name, extra)


def build_parser():
    parser = Parser(prog="deeprob", description="Training Neural Networks II, as a tool.")
    parser.add_argument("--verbose", action="store_true",
                        help="full tracebacks and TensorFlow logs (also DEEPROB_VERBOSE=1); any position")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a recipe end to end")
    p.add_argument("recipe", help="recipe YAML file, e.g. recipes/fashion_mnist.yaml")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--limit-examples", type=int, help="train on the first N examples only")
    p.add_argument("--seed", type=int, help="override the recipe's seed")
    p.add_argument("--out", type=output_dir, help="output directory (default runs/<recipe name>)")
    p.add_argument("--overwrite", action="store_true",
                   help="delete the run that --out holds (finished or backed up) and train from scratch")
    p.add_argument("--strategy", choices=("auto", "default", "mirrored"), default="auto",
                   help="auto (default): MirroredStrategy over the GPUs when there are 2 or more; "
                        "default: one device; mirrored: MirroredStrategy over every visible GPU")
    p.add_argument("--cpu-replicas", type=int_at_least(2), default=None,
                   help="mirror over N logical CPU devices (tests and demos without accelerators; N >= 2)")
    p.add_argument("--multi-worker", action="store_true",
                   help="one worker of a MultiWorkerMirroredStrategy cluster described by TF_CONFIG")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("multi-worker-local",
                       help="train a recipe with N local worker processes (MultiWorkerMirroredStrategy on 127.0.0.1)")
    p.add_argument("recipe", help="recipe YAML file")
    p.add_argument("--workers", type=int, default=2, help="number of worker processes (default 2)")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--limit-examples", type=int, help="train on the first N examples only")
    p.add_argument("--seed", type=int, help="override the recipe's seed")
    p.add_argument("--out", type=output_dir, help="output directory (default runs/<recipe name>)")
    p.add_argument("--overwrite", action="store_true",
                   help="delete the run that --out holds (another recipe's, or this one's finished run) first")
    p.set_defaults(func=cmd_multi_worker_local)

    p = sub.add_parser("schedule", help="learning-rate schedules")
    ssub = p.add_subparsers(dest="schedule_command", required=True)
    q = ssub.add_parser("plot", help="draw the recipe's learning rate over the run to a PNG")
    q.add_argument("recipe")
    q.add_argument("--epochs", type=int)
    q.add_argument("--steps-per-epoch", type=int, help="skip loading the data to count steps")
    q.add_argument("--out", type=output_file, help="PNG path")
    q.set_defaults(func=cmd_schedule_plot)

    # Sub-commands that live beside their feature, and those that installed extras add.
    _add_plugin_commands(sub)
    return parser


def main(argv=None):
    """Runs `deeprob ARGS`; returns the exit status.

    A user error (bad recipe, path or flag value) prints one line, `deeprob: <problem>`,
    and returns 2 (3 when training diverged); an internal error keeps its traceback.
    `--verbose` anywhere in `argv`, or `DEEPROB_VERBOSE=1`, prints tracebacks too.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = verbose_requested(argv)
    argv = [a for a in argv if a != "--verbose"]
    quiet_logs(verbose)  # again, for `main(argv)` called from Python; the processes we start inherit the env
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, or a bad flag value (one line, see cli_errors.Parser)
        return e.code
    args.verbose = verbose
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("deeprob: interrupted; re-run the same command to resume from the last backup", file=sys.stderr)
        return 130
    except Exception as e:
        known = user_error(e)
        if known is None:
            raise
        if verbose:
            traceback.print_exc()
        print(f"deeprob: {known[1]}", file=sys.stderr)
        return known[0]


if __name__ == "__main__":
    sys.exit(main())
