"""`deeprob transfer advise | train | probes` (an app on top of `training/` and the `transfer/` techniques)."""

import json
import os
import sys

from deeprob_keras.cli_errors import int_at_least, output_dir, output_file


def cmd_advise(args):
    from deeprob_keras.transfer.decision import advise, similarity_from_probes

    similarity = args.similarity
    if args.probe_results:
        measured = similarity_from_probes(args.probe_results)
        print(f"similarity measured from {args.probe_results}: {measured}")
        similarity = similarity or measured
    if similarity is None:
        print("deeprob: give --similarity similar|different or --probe-results FILE", file=sys.stderr)
        return 2
    print(advise(args.examples_per_class, similarity))
    return 0


def cmd_train(args):
    from deeprob_keras.cli import _load
    from deeprob_keras.training import train_recipe, train_transfer

    recipe = _load(args.recipe, {"training.epochs": args.epochs, "data.limit_examples": args.limit_examples,
                                 "seed": args.seed})
    out = args.out or os.path.join("runs", recipe.name)
    from deeprob_keras.cli import _finished_already, print_outputs

    if _finished_already(recipe, out, args.overwrite):
        return 0

    result = train_transfer(recipe, out, verbose=1 if sys.stdout.isatty() else 2, train_fn=train_recipe)
    for phase, acc in result.metrics["phases"].items():
        print(f"{phase:<20} test accuracy {acc:.4f}")
    print_outputs(result.paths)
    return 0


def cmd_probes(args):
    import keras

    from deeprob_keras.cli import _load
    from deeprob_keras.transfer.backbones import _register_project_objects, load_backbone
    from deeprob_keras.transfer.probes import default_probe_layers, stage_probes
    from deeprob_keras.training import load_recipe_datasets

    recipe = _load(args.recipe, {"data.limit_examples": args.limit_examples})
    if recipe.transfer is None:
        print("deeprob: the recipe has no transfer section", file=sys.stderr)
        return 2
    data = load_recipe_datasets(recipe, recipe.training.batch_size)
    spec = recipe.transfer
    if os.path.exists(spec.backbone):
        _register_project_objects()
        model = keras.saving.load_model(spec.backbone, safe_mode=True, compile=False)
        _, adapter = load_backbone(spec, data.image_shape)
    else:
        model, adapter = load_backbone(spec, data.image_shape)
    layers = args.layers.split(",") if args.layers else default_probe_layers(model)
    if not layers:
        print("deeprob: name the layers to probe with --layers a,b,c", file=sys.stderr)
        return 2
    results = stage_probes(model, layers, data, epochs=args.epochs, adapter=adapter, verbose=1)
    out = args.out or os.path.join("runs", recipe.name, "probes.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    best = max(results, key=results.get)
    print(f"best stage: {best} ({results[best]:.4f})")
    print(f"probe results: {os.path.abspath(out)}  (next: deeprob transfer advise --examples-per-class N "
          f"--probe-results {out})")
    return 0


def add_commands(subparsers):
    """Adds `transfer advise`, `transfer train` and `transfer probes` to the `deeprob` parser."""
    p = subparsers.add_parser("transfer", help="transfer learning from a pretrained backbone")
    sub = p.add_subparsers(dest="transfer_command", required=True)

    q = sub.add_parser("advise", help="the lecture's table: what to do with N examples per class")
    q.add_argument("--examples-per-class", type=int_at_least(1), required=True)
    q.add_argument("--similarity", choices=("similar", "different"))
    q.add_argument("--probe-results", help="JSON {layer: accuracy} from `deeprob transfer probes` (measures similarity)")
    q.set_defaults(func=cmd_advise)

    q = sub.add_parser("train", help="feature extraction then fine-tuning (transfer.mode two_phase)")
    q.add_argument("recipe")
    q.add_argument("--epochs", type=int, help="override training.epochs (the fine-tuning phase)")
    q.add_argument("--limit-examples", type=int)
    q.add_argument("--seed", type=int)
    q.add_argument("--out", type=output_dir, help="output directory (default runs/<recipe name>)")
    q.add_argument("--overwrite", action="store_true",
                   help="delete the run that --out holds (finished or backed up) and train from scratch")
    q.set_defaults(func=cmd_train)

    q = sub.add_parser("probes", help="linear classifiers on the backbone's features at several depths")
    q.add_argument("recipe")
    q.add_argument("--layers", help="comma-separated layer names (default: stage0.. and features)")
    q.add_argument("--epochs", type=int_at_least(1), default=30, help="epochs of each linear classifier")
    q.add_argument("--limit-examples", type=int)
    q.add_argument("--out", type=output_file, help="JSON path (default runs/<recipe name>/probes.json)")
    q.set_defaults(func=cmd_probes)
