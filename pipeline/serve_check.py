"""`deeprob serve-check DIR`: load the newest SavedModel version and send real examples through it.

Run as its own process (`deeprob serve-check DIR` or `python -m
deeprob_pipeline.serve_check DIR`), so that nothing of the training process (custom
objects, Keras state) helps the SavedModel load: what passes here loads in TF
Serving.
"""

import argparse
import base64
import json
import os
import sys

import numpy as np

CLASS_NAMES_FILE = "assets.extra_class_names.txt"


def _inside(path, serving_dir):
    path, serving_dir = os.path.realpath(path), os.path.realpath(serving_dir)
    return path == serving_dir or os.path.dirname(path) == serving_dir


def newest_version(directory, serving_dir=None, verbose=False):
    """The version folder to load: `directory` if it is one, else its newest complete `<version>/`.

    Only numeric, complete version folders count (`saved_model.pb`, the
    variables index and all its shards: `deeprob_pipeline.atomic_pusher.is_complete_saved_model`);
    hidden `.tmp-*` folders of a push in progress and partial versions are skipped.

    Args:
        directory: a serving base dir (`<dir>/<version>/`) or one of its version dirs.
        serving_dir: the configured serving directory; when given, `directory`
            must be it or one of its version folders, else `ValueError`.

    Returns:
        The path of the version folder.
    """
    from deeprob_pipeline.atomic_pusher import is_complete_saved_model

    if serving_dir is not None and not _inside(directory, serving_dir):
        raise ValueError(f"refusing to load a SavedModel from {directory}: it is outside the configured "
                         f"serving directory {serving_dir}")
    if os.path.exists(os.path.join(directory, "saved_model.pb")):
        name = os.path.basename(os.path.normpath(directory))
        if not name.isdigit():
            raise ValueError(f"{directory} is not a version folder of a serving directory (expected a numeric "
                             "name, as TF Serving loads)")
        if not is_complete_saved_model(directory):
            raise ValueError(f"{directory} is an incomplete SavedModel (missing variables index or shards)")
        return directory
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"serving directory not found: {directory}")
    versions = []
    for d in os.listdir(directory):
        if not d.isdigit():
            continue
        if is_complete_saved_model(os.path.join(directory, d)):
            versions.append(d)
        elif verbose:
            print(f"serve-check: skipping incomplete version {os.path.join(directory, d)}")
    if not versions:
        raise FileNotFoundError(f"no complete <version>/saved_model.pb under {directory}")
    return os.path.join(directory, max(versions, key=int))


def rest_request_body(serialized_example):
    """The TF Serving REST `:predict` body for one serialized tf.Example."""
    return {"signature_name": "serving_default",
            "instances": [{"b64": base64.b64encode(serialized_example).decode("ascii")}]}


def model_classes_only(images, labels, dataset_names, model_names):
    """The test examples of the classes the model knows, relabelled to its label ids.

    A model trained on some classes of a dataset (e.g. Fashion-MNIST 5-9, labels
    0..4) names them in its `assets.extra_class_names.txt`; the test split keeps
    those classes, in the model's order. Returns (images, labels, subset?).
    """
    model_names, dataset_names = list(model_names), list(dataset_names)
    if model_names == dataset_names:
        return images, labels, False
    missing = [n for n in model_names if n not in dataset_names]
    if missing:
        raise ValueError(f"the model's classes {missing} are not classes of the dataset "
                         f"({dataset_names}): pass --dataset")
    remap = np.full(len(dataset_names), -1, dtype=np.int64)
    for i, name in enumerate(model_names):
        remap[dataset_names.index(name)] = i
    new_labels = remap[np.asarray(labels)]
    keep = new_labels >= 0
    return images[keep], new_labels[keep], True


def serve_check(directory, dataset="fashion_mnist", limit=None, batch_size=1000, show=5, verbose=True,
                serving_dir=None):
    """Sends the dataset's test split through `serving_default`; returns a result dict.

    Only the test examples of the model's classes are sent (all of them for a
    model of the whole dataset), with labels in the model's order.

    Args:
        directory: a serving base dir (`<dir>/<version>/`) or one version dir.
        dataset: a name `deeprob_keras.data.load_arrays` knows.
        limit: use the first N test examples (None = all).
        batch_size: examples per signature call.
        show: how many predictions to print.
        serving_dir: the configured serving directory; `directory` outside it is refused.

    Returns:
        {"version_dir", "accuracy", "examples", "predictions" (int array), "request_body"}.

    Example:
        >>> serve_check("runs/pipeline/serving")["accuracy"]
    """
    import tensorflow as tf

    from deeprob_keras.data import encode_example, load_arrays

    version_dir = newest_version(directory, serving_dir, verbose)
    loaded = tf.saved_model.load(version_dir)
    for name in ("serving_default", "serving_images"):
        if name not in loaded.signatures:
            raise ValueError(f"{version_dir} has no {name!r} signature. Received: {sorted(loaded.signatures)}")
    serve = loaded.signatures["serving_default"]
    _, (images, labels), dataset_names = load_arrays(dataset)
    names_path = os.path.join(version_dir, CLASS_NAMES_FILE)
    names = list(dataset_names)
    if os.path.exists(names_path):
        with open(names_path) as f:
            names = [line.strip() for line in f if line.strip()]
    images, labels, subset = model_classes_only(images, labels, dataset_names, names)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    serialized = [encode_example(image, 0) for image in images]  # the label is not sent
    predictions, confidences = [], []
    for start in range(0, len(serialized), batch_size):
        out = serve(examples=tf.constant(serialized[start:start + batch_size]))
        predictions.append(out["classes"].numpy())
        confidences.append(out["probabilities"].numpy().max(axis=-1))
    predictions, confidences = np.concatenate(predictions), np.concatenate(confidences)
    accuracy = float(np.mean(predictions == labels))
    body = rest_request_body(serialized[0])
    if verbose:
        print(f"serve-check: {version_dir}")
        for i in range(min(show, len(labels))):
            print(f"  example {i}: predicted {names[predictions[i]]!r} ({confidences[i]:.2f}), "
                  f"true {names[labels[i]]!r}")
        which = f" of the model's {len(names)} classes" if subset else ""
        print(f"accuracy on {len(labels)} {dataset} test examples{which} through serving_default: {accuracy:.4f}")
        print("TF Serving REST request for example 0 "
              f"(POST http://HOST:8501/v1/models/MODEL:predict):")
        print(json.dumps(body))
    return {"version_dir": version_dir, "accuracy": accuracy, "examples": int(len(labels)),
            "predictions": predictions, "request_body": body}


def add_arguments(parser):
    parser.add_argument("directory", nargs="?",
                        help="serving dir (<dir>/<version>/) or one of its version dirs; "
                             "default: the serving_dir of --config (or of the default pipeline config)")
    parser.add_argument("--config", help="pipeline config YAML: DIRECTORY must lie in its serving_dir")
    parser.add_argument("--dataset", default="fashion_mnist", help="dataset whose test split is sent")
    parser.add_argument("--limit", type=int, help="send only the first N test examples")
    parser.add_argument("--show", type=int, default=5, help="predictions to print")
    parser.add_argument("--json", dest="json_out", help="also write the result (without predictions) here")


def run_from_args(args):
    serving_dir = None
    if args.config or not args.directory:
        from deeprob_pipeline.config import load_pipeline_config

        serving_dir = load_pipeline_config(args.config).serving_dir
    try:
        result = serve_check(args.directory or serving_dir, args.dataset, args.limit, show=args.show,
                             serving_dir=serving_dir)
    except (ValueError, FileNotFoundError) as e:
        print(f"serve-check: {e}", file=sys.stderr)
        return 2
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({k: v for k, v in result.items() if k != "predictions"}
                      | {"predictions": result["predictions"].tolist()}, f)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m deeprob_pipeline.serve_check", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
