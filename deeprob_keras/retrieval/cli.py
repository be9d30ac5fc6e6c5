"""`deeprob retrieve MODEL --layer NAME --queries N --k K --out DIR`: the lecture's retrieval figure and precision@K.

Test images are the queries, the training split is the gallery; both go through
the model's layer (`embeddings.embedding_model`) and `exact_knn`. Writes
`DIR/retrieval.png` (each query, then its K neighbours framed green / red) and
`DIR/precision.json`, and prints one line with precision@K.
"""

import json
import os

import numpy as np

from deeprob_keras.cli_errors import UsageError, int_at_least, output_dir


def _recipe_data(model_path):
    """The dataset name of the run the model comes from (recipe.yaml beside it), or None."""
    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "recipe.yaml")
    if not os.path.exists(path):
        return None
    import yaml

    with open(path) as f:
        recipe = yaml.safe_load(f) or {}
    return (recipe.get("data") or {}).get("dataset")


def _load_model(path):
    if not os.path.exists(path):
        raise UsageError(f"model file not found: {path} (train one with `deeprob train recipes/fashion_mnist.yaml`)")
    if not path.endswith(".keras"):
        raise UsageError(f"expected a .keras model file. Received: {path}")
    import keras

    import deeprob_keras.layers  # noqa: F401  (registers our objects for safe loading)
    import deeprob_keras.losses  # noqa: F401

    return keras.saving.load_model(path, safe_mode=True, compile=False)


def retrieve(model_path, layer, queries, k, out, dataset=None, gallery=None, spatial="avg", seed=0, rows=8):
    """The command's work; returns the result dict (also written to `out/precision.json`)."""
    from deeprob_keras.data import load_arrays
    from deeprob_keras.retrieval.embeddings import (UnknownLayer, compute_embeddings, embedding_model,
                                                    model_preprocessing)
    from deeprob_keras.retrieval.exact_knn import exact_knn
    from deeprob_keras.retrieval.figure import plot_retrievals
    from deeprob_keras.retrieval.precision import neighbour_hits, precision_at_k

    model = _load_model(model_path)
    try:
        embedder = embedding_model(model, layer, spatial)
    except UnknownLayer as e:
        raise UsageError(f"--layer: {e}") from None
    dataset = dataset or _recipe_data(model_path) or "fashion_mnist"
    (train_x, train_y), (test_x, test_y), class_names = load_arrays(dataset)
    if gallery is not None:
        train_x, train_y = train_x[:gallery], train_y[:gallery]
    if k > len(train_x):
        raise UsageError(f"--k {k} is larger than the gallery ({len(train_x)} training images)")
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(test_x), size=min(queries, len(test_x)), replace=False))
    query_x, query_y = test_x[pick], test_y[pick]
    try:
        preprocess = model_preprocessing(model, train_x.shape[1:])
    except ValueError as e:
        raise UsageError(str(e)) from None
    gallery_e = compute_embeddings(embedder, train_x, preprocess=preprocess)
    query_e = compute_embeddings(embedder, query_x, preprocess=preprocess)
    _, idx = exact_knn(query_e, gallery_e, k)
    hits = neighbour_hits(train_y[idx], query_y)
    precision = precision_at_k(train_y[idx], query_y, k)
    os.makedirs(out, exist_ok=True)
    shown = min(rows, len(pick))
    figure = plot_retrievals(
        os.path.join(out, "retrieval.png"), query_x[:shown], train_x[idx[:shown]], hits[:shown],
        title=f"{os.path.basename(model_path)}, layer {layer or 'features'}: "
              f"precision@{k} = {precision:.3f} over {len(pick)} queries",
        query_titles=[class_names[int(y)] for y in query_y[:shown]])
    result = {"model": os.path.abspath(model_path), "layer": layer or "features", "spatial": spatial,
              "dataset": dataset, "queries": int(len(pick)), "gallery": int(len(train_x)), "k": k,
              "embedding_dim": int(gallery_e.shape[1]), "metric": "inner_product (cosine)",
              f"precision_at_{k}": precision, "seed": seed, "query_indices": pick.tolist()}
    path = os.path.join(out, "precision.json")
    with open(path, "w") as f:
        json.dump(result, f, indent=2)
    result["paths"] = {"figure": figure, "precision": path}
    return result


def cmd_retrieve(args):
    r = retrieve(args.model, args.layer, args.queries, args.k, args.out, dataset=args.dataset, gallery=args.gallery,
                 spatial=args.spatial, seed=args.seed, rows=args.rows)
    k = r["k"]
    print(f"precision@{k}: {r[f'precision_at_{k}']:.4f}   layer {r['layer']} ({r['embedding_dim']}-d, "
          f"{r['spatial']})   {r['queries']} queries   gallery {r['gallery']} {r['dataset']} training images")
    print("outputs:")
    for name, path in r["paths"].items():
        print(f"  {name:<18} {os.path.abspath(path)}")
    return 0


def add_commands(subparsers):
    """Adds `deeprob retrieve` to the `deeprob` parser."""
    p = subparsers.add_parser("retrieve", help="image retrieval with a trained model's features: figure + precision@K")
    p.add_argument("model", help="a .keras model file, e.g. runs/fashion_mnist/model.keras")
    p.add_argument("--layer", default=None,
                   help="layer whose output is the embedding (default `features`, the pooled features; "
                        "4-D outputs such as stage0 are global-average-pooled, see --spatial)")
    p.add_argument("--queries", type=int_at_least(1), default=100, help="test images used as queries (default 100)")
    p.add_argument("--k", type=int_at_least(1), default=5, help="neighbours per query (default 5)")
    p.add_argument("--out", type=output_dir, default=os.path.join("runs", "retrieval"),
                   help="output directory (default runs/retrieval)")
    p.add_argument("--dataset", default=None,
                   help="dataset name (default: the recipe.yaml beside the model, else fashion_mnist)")
    p.add_argument("--gallery", type=int_at_least(1), default=None, help="use the first N training images only")
    p.add_argument("--spatial", choices=("avg", "flatten"), default="avg",
                   help="4-D layer outputs: global average pooling (default) or flattening")
    p.add_argument("--seed", type=int, default=0, help="seed of the query sample (default 0)")
    p.add_argument("--rows", type=int_at_least(1), default=8, help="queries drawn in the figure (default 8)")
    p.set_defaults(func=cmd_retrieve)
