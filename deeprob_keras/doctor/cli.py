"""`deeprob doctor`, `deeprob lr-find` and `deeprob tune`."""

import os

from deeprob_keras.cli_errors import UsageError, int_at_least, number_above, output_dir


def _recipe(path):
    from deeprob_keras.recipe import load_recipe

    return load_recipe(path)


def cmd_doctor(args):
    from deeprob_keras.doctor.doctor import run_doctor

    recipe = _recipe(args.recipe)
    run_doctor(recipe, args.out or os.path.join("runs", f"{recipe.name}_doctor"), budget_minutes=args.budget,
               search=args.search, runs_dir=args.runs)
    return 0


def cmd_lr_find(args):
    from deeprob_keras.doctor.lr_range_test import lr_range_test

    if args.min_lr >= args.max_lr:
        raise UsageError(f"--min-lr must be below --max-lr. Received: --min-lr {args.min_lr:g} --max-lr {args.max_lr:g}")
    recipe = _recipe(args.recipe)
    out = args.out or os.path.join("runs", f"{recipe.name}_lr_find")
    png = os.path.join(out, "lr_range_test.png")
    v = lr_range_test(recipe, min_lr=args.min_lr, max_lr=args.max_lr, steps=args.steps, rule=args.rule,
                      plot_path=png)
    print(v.line())
    print(f"suggested learning rate: {v.measured['suggested_lr']:.4g} (rule {v.measured['rule']}; "
          f"lowest loss at {v.measured['min_loss_lr']:.4g})")
    print(f"plot: {os.path.abspath(png)}")
    return 0


def cmd_tune(args):
    from deeprob_keras.doctor.plots import plot_search
    from deeprob_keras.doctor.report import search_table_markdown
    from deeprob_keras.recipe import save_recipe
    from deeprob_keras.tuning import apply_hyperparameters

    recipe = _recipe(args.recipe)
    out = os.path.abspath(args.out or os.path.join("runs", f"{recipe.name}_tune"))
    v = coarse_search_cli(recipe, out, args)
    print(v.line())
    table_path = os.path.join(out, "search.md")
    with open(table_path, "w") as f:
        f.write(search_table_markdown(v.measured["table"]))
    print(f"trials table: {table_path}")
    if v.passed:
        print(f"plot: {plot_search(v.measured['table'], os.path.join(out, 'search.png'))}")
        best = apply_hyperparameters(recipe, v.measured["best"][0])
        print(f"best recipe: {save_recipe(best, os.path.join(out, 'best_recipe.yaml'))}")
    return 0 if v.passed else 1


def coarse_search_cli(recipe, out, args):
    from deeprob_keras.doctor.search import coarse_search

    return coarse_search(recipe, out, search=args.search, trials=args.trials, epochs=args.epochs)


def add_commands(subparsers):
    """Adds `doctor`, `lr-find` and `tune` to the `deeprob` command."""
    p = subparsers.add_parser("doctor", help="the lecture's 7-step hyperparameter procedure, with a report")
    p.add_argument("recipe", help="recipe YAML file")
    p.add_argument("--budget", type=number_above(0), default=30.0, help="wall-clock budget in minutes (default 30)")
    p.add_argument("--search", choices=("grid", "random"), default="random", help="step 4 search (default random)")
    p.add_argument("--out", type=output_dir, help="report directory (default runs/<name>_doctor)")
    p.add_argument("--runs", type=output_dir, help="directory of the search/training runs (default OUT/runs)")
    p.set_defaults(func=cmd_doctor)

    p = subparsers.add_parser("lr-find", help="learning-rate range test: loss vs LR plot and a suggested LR")
    p.add_argument("recipe")
    p.add_argument("--min-lr", type=number_above(0), default=1e-5)
    p.add_argument("--max-lr", type=number_above(0), default=10.0)
    p.add_argument("--steps", type=int_at_least(10), default=300, help="optimizer steps of the sweep (>= 10)")
    p.add_argument("--rule", choices=("min/10", "steepest"), default="min/10")
    p.add_argument("--out", type=output_dir, help="output directory (default runs/<name>_lr_find)")
    p.set_defaults(func=cmd_lr_find)

    p = subparsers.add_parser("tune", help="coarse hyperparameter search through KerasTuner")
    p.add_argument("recipe")
    p.add_argument("--search", choices=("grid", "random"), default="random")
    p.add_argument("--trials", type=int_at_least(1), default=8)
    p.add_argument("--epochs", type=int_at_least(1), default=2)
    p.add_argument("--out", type=output_dir, help="output directory (default runs/<name>_tune)")
    p.set_defaults(func=cmd_tune)
