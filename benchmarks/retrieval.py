"""Image retrieval: precision@K of nearest neighbours in pixel space vs in a trained network's feature spaces.

The lecture: neighbours in pixel space look alike (same brightness, same
silhouette); neighbours in the space of a trained CNN's last features share
the meaning (the class). Queries: `--queries` test images (seeded sample);
gallery: the whole training split. Representations:

- pixels (L2): raw pixels in [0, 1], squared Euclidean distance (the lecture's);
- pixels (cosine): the same vectors L2-normalized (shows that normalization is not what helps);
- each stage of the model (`stage0`, `stage1`, ...): global average pooled, L2-normalized;
- `features`: the pooled features feeding the classifier, L2-normalized.

Feature search is exact (`deeprob_keras.retrieval.exact_knn`, TF matmul + top_k
in chunks), with cosine similarity. Speed: queries per second of that exact
search vs faiss (when installed: `IndexFlatIP` exact, `IndexHNSWFlat`
approximate with its build time and recall@10 against exact), on the pooled
features, in one process (run it pinned to one core for comparable numbers).

The model: `--model FILE`, else runs/fashion_mnist/model.keras (made by
`deeprob train recipes/fashion_mnist.yaml --out runs/fashion_mnist`), else the default recipe
trained here for `--train-epochs` epochs into `--work-dir`. Writes <out>.md, <out>.json,
<out>_pixels.png and <out>_features.png.

    taskset -c 1 .venv/bin/python benchmarks/retrieval.py [--model runs/fashion_mnist/model.keras] [--queries 1000]
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))  # the sibling scripts, by their names

import keras  # noqa: E402
import numpy as np  # noqa: E402

from deeprob_keras.data import load_arrays  # noqa: E402
from deeprob_keras.retrieval import (ExactIndex, FaissHNSWIndex, compute_embeddings, embedding_model,  # noqa: E402
                                     exact_knn, faiss_available, model_preprocessing, neighbour_hits,
                                     pixel_vectors, plot_retrievals, precision_at_ks, recall_at_k)
import results_io  # noqa: E402

DEFAULT_MODEL = os.path.join("runs", "fashion_mnist", "model.keras")
KS = (1, 5, 10)


def find_or_train_model(path, work_dir, epochs, limit_examples=None):
    """`path` if given; else runs/fashion_mnist/model.keras; else the default recipe trained for `epochs`."""
    for candidate in ([path] if path else [DEFAULT_MODEL]):
        full = candidate if os.path.isabs(candidate) else os.path.join(ROOT, candidate)
        if os.path.exists(full):
            return full, "given with --model" if path else f"found at {candidate}"
    if path:
        raise SystemExit(f"retrieval.py: no model at {path}")
    from deeprob_keras.recipe import load_recipe, with_overrides
    from deeprob_keras.training import train_recipe

    overrides = {"training.epochs": epochs}
    if limit_examples:
        overrides["data.limit_examples"] = limit_examples
    recipe = with_overrides(load_recipe(os.path.join(ROOT, "recipes", "fashion_mnist.yaml")), overrides)
    out = os.path.join(work_dir, "fashion_mnist")
    print(f"retrieval: no trained model at {DEFAULT_MODEL}; training the default recipe for {epochs} epochs "
          f"into {out}", flush=True)
    train_recipe(recipe, out, verbose=2)
    return os.path.join(out, "model.keras"), f"trained here ({epochs} epochs of recipes/fashion_mnist.yaml)"


def stage_layers(model):
    names = [layer.name for layer in model.layers]
    stages = sorted((n for n in names if n.startswith("stage") and n[5:].isdigit()), key=lambda n: int(n[5:]))
    return stages + (["features"] if "features" in names else [])


def evaluate(name, query_vecs, gallery_vecs, query_y, gallery_y, metric, k_max):
    started = time.perf_counter()
    _, idx = exact_knn(query_vecs, gallery_vecs, k_max, metric=metric)
    seconds = time.perf_counter() - started
    hits = neighbour_hits(gallery_y[idx], query_y)
    precision = precision_at_ks(gallery_y[idx], query_y, KS)
    # standard error over queries of the per-query precision@k
    stderr = {k: float(hits[:, :k].mean(1).std(ddof=1) / np.sqrt(len(hits))) for k in KS}
    print(f"retrieval: {name:<16} dim {query_vecs.shape[1]:>5}  " +
          "  ".join(f"P@{k} {precision[k]:.4f}" for k in KS) + f"  ({seconds:.2f} s search)", flush=True)
    return {"name": name, "dim": int(query_vecs.shape[1]), "metric": metric,
            "precision": {str(k): v for k, v in precision.items()}, "stderr": {str(k): v for k, v in stderr.items()},
            "search_seconds": seconds}, idx, hits


def timed(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - started)
    return best, out


def speed(query_e, gallery_e, k, repeats, ef_search):
    """Queries per second of exact TF search, and of faiss (exact and HNSW) when installed."""
    index = ExactIndex()
    index.add(gallery_e)
    index.search(query_e[:8], k)  # trace the tf.functions once
    seconds, (_, exact_idx) = timed(lambda: index.search(query_e, k), repeats)
    rows = [{"backend": "exact: TF matmul + top_k (deeprob_keras.retrieval.exact_knn)", "seconds": seconds,
             "qps": len(query_e) / seconds, "recall_at_k": 1.0, "build_seconds": 0.0}]
    if not faiss_available():
        return rows, "faiss is not installed (pip install faiss-cpu): no library backend measured"
    import faiss

    flat = faiss.IndexFlatIP(gallery_e.shape[1])
    flat.add(gallery_e)
    seconds, (_, flat_idx) = timed(lambda: flat.search(query_e, k), repeats)
    rows.append({"backend": "exact: faiss IndexFlatIP", "seconds": seconds, "qps": len(query_e) / seconds,
                 "recall_at_k": recall_at_k(flat_idx, exact_idx), "build_seconds": 0.0})
    started = time.perf_counter()
    hnsw = FaissHNSWIndex(gallery_e.shape[1], ef_search=ef_search)
    hnsw.add(gallery_e)
    build = time.perf_counter() - started
    seconds, (_, hnsw_idx) = timed(lambda: hnsw.search(query_e, k), repeats)
    rows.append({"backend": f"approximate: faiss HNSW (M=32, efSearch={ef_search})", "seconds": seconds,
                 "qps": len(query_e) / seconds, "recall_at_k": recall_at_k(hnsw_idx, exact_idx),
                 "build_seconds": build})
    return rows, f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} OpenMP thread(s)"


def write_report(data, out):
    lines = ["# Image retrieval: pixels vs CNN features", "",
             f"Command: `{data['command']}`", "",
             f"Model: `{data['model']}` ({data['model_source']}, test accuracy "
             f"{'unknown' if data['model_test_accuracy'] is None else format(data['model_test_accuracy'], '.4f')}). "
             f"Queries: {data['queries']} {data['dataset']} test images (seed {data['seed']}); gallery: "
             f"{data['gallery']} training images (the model was trained on them, or most of them; the queries it never "
             f"saw). Exact search; ties to the lower gallery index. "
             f"Load average {data['load_before']:.1f} before, {data['load_after']:.1f} after; "
             f"{data['wall_seconds'] / 60:.1f} min.", "",
             "| representation | dim | metric | " + " | ".join(f"P@{k}" for k in KS) + " |",
             "|---|---:|---|" + "---:|" * len(KS)]
    for r in data["representations"]:
        cells = " | ".join(f"{r['precision'][str(k)]:.4f} ± {r['stderr'][str(k)]:.4f}" for k in KS)
        lines.append(f"| {r['name']} | {r['dim']} | {r['metric']} | {cells} |")
    lines += ["", "± is the standard error over queries of the per-query precision (one model, one query "
              "sample: it measures the query sampling, not training seeds). Stages are global-average-pooled "
              "before L2 normalization; `features` is the pooled vector that feeds the classifier (in our ResNet the "
              "global average of the last stage, so the last stage and `features` give the same numbers). One "
              "timing run on a shared machine: compare the ratios, and mind the load average above.", "",
              f"## Search speed ({data['speed_note']})", "",
              f"{data['queries']} queries, k = {data['speed_k']}, the `features` embeddings of the "
              f"{data['gallery']}-image gallery; best of {data['repeats']} runs; one process.", "",
              "| backend | queries/s | ratio to exact TF | recall@k vs exact | build (s) |",
              "|---|---:|---:|---:|---:|"]
    base = data["speed"][0]["qps"]
    for r in data["speed"]:
        lines.append(f"| {r['backend']} | {r['qps']:,.0f} | {r['qps'] / base:.2f}x | {r['recall_at_k']:.4f} | "
                     f"{r['build_seconds']:.2f} |")
    lines += ["", f"Embedding the images: {data['embed_images_per_second']:,.0f} images/s through `features`.", "",
              f"Figures: `{os.path.basename(data['figures']['pixels'])}` (pixel neighbours) and "
              f"`{os.path.basename(data['figures']['features'])}` (feature neighbours) for the same queries; "
              "green frame: the neighbour has the query's class, red: it has not.", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help=f"a .keras model (default {DEFAULT_MODEL}, else train one)")
    parser.add_argument("--dataset", default="fashion_mnist")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--gallery", type=int, default=None, help="first N training images (default all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rows", type=int, default=6, help="queries shown in each figure")
    parser.add_argument("--repeats", type=int, default=3, help="timing repeats (best is kept)")
    parser.add_argument("--ef-search", type=int, default=64)
    parser.add_argument("--train-epochs", type=int, default=3)
    parser.add_argument("--train-limit-examples", type=int, default=None)
    parser.add_argument("--work-dir", default=os.path.join(ROOT, "runs", "bench_retrieval"))
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "retrieval.md"))
    args = parser.parse_args(argv)
    started, load_before = time.time(), os.getloadavg()[0]

    model_path, source = find_or_train_model(args.model, args.work_dir, args.train_epochs, args.train_limit_examples)
    import deeprob_keras  # noqa: F401  (registers our layers)

    model = keras.saving.load_model(model_path, safe_mode=True, compile=False)
    metrics_path = os.path.join(os.path.dirname(model_path), "metrics.json")
    test_accuracy = None
    if os.path.exists(metrics_path):
        with open(metrics_path) as f:
            test_accuracy = json.load(f).get("test_accuracy")
    (train_x, train_y), (test_x, test_y), class_names = load_arrays(args.dataset)
    if args.gallery:
        train_x, train_y = train_x[:args.gallery], train_y[:args.gallery]
    pick = np.sort(np.random.default_rng(args.seed).choice(len(test_x), min(args.queries, len(test_x)), replace=False))
    query_x, query_y = test_x[pick], test_y[pick]
    k_max = max(KS)

    reps, shown = [], {}
    pixels_g, pixels_q = pixel_vectors(train_x), pixel_vectors(query_x)
    r, idx, hits = evaluate("pixels (L2)", pixels_q, pixels_g, query_y, train_y, "l2", k_max)
    reps.append(r)
    shown["pixels"] = (idx, hits, r)
    unit = lambda v: v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)  # noqa: E731
    reps.append(evaluate("pixels (cosine)", unit(pixels_q), unit(pixels_g), query_y, train_y, "inner_product",
                         k_max)[0])
    del pixels_g
    preprocess = model_preprocessing(model, train_x.shape[1:])
    embed_rate = None
    for layer in stage_layers(model):
        embedder = embedding_model(model, layer)
        t0 = time.perf_counter()
        gallery_e = compute_embeddings(embedder, train_x, preprocess=preprocess)
        rate = len(train_x) / (time.perf_counter() - t0)
        query_e = compute_embeddings(embedder, query_x, preprocess=preprocess)
        r, idx, hits = evaluate(layer, query_e, gallery_e, query_y, train_y, "inner_product", k_max)
        reps.append(r)
        if layer == "features" or "features" not in shown:  # the pooled features, else the last stage
            embed_rate, shown["features"] = rate, (idx, hits, r)
            features = (query_e, gallery_e)
    speed_rows, note = speed(features[0], features[1], k_max, args.repeats, args.ef_search)
    for row in speed_rows:
        print(f"retrieval: {row['backend']:<55} {row['qps']:>10,.0f} queries/s  recall {row['recall_at_k']:.4f}",
              flush=True)

    base = os.path.splitext(args.out)[0]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    figures = {}
    rows = min(args.rows, len(pick))
    titles = [class_names[int(y)] for y in query_y[:rows]]
    for name, (idx, hits, r) in shown.items():
        figures[name] = plot_retrievals(
            f"{base}_{name}.png", query_x[:rows], train_x[idx[:rows]], hits[:rows],
            title=f"{r['name']}: precision@10 = {r['precision']['10']:.3f} over {len(pick)} queries",
            query_titles=titles)
    data = {"command": "taskset -c 1 .venv/bin/python benchmarks/retrieval.py " + " ".join(argv or sys.argv[1:]),
            "model": os.path.relpath(model_path, ROOT), "model_source": source, "model_test_accuracy": test_accuracy,
            "dataset": args.dataset, "queries": int(len(pick)), "gallery": int(len(train_x)), "seed": args.seed,
            "representations": reps, "speed": speed_rows, "speed_note": note, "speed_k": k_max,
            "repeats": args.repeats, "embed_images_per_second": embed_rate,
            "figures": {k: os.path.relpath(v, ROOT) for k, v in figures.items()},
            "load_before": load_before, "load_after": os.getloadavg()[0], "wall_seconds": time.time() - started}
    results_io.write_json(base + ".json", data, indent=2)
    write_report(data, args.out)
    print(f"retrieval: {args.out}, {base}.json, {base}_pixels.png, {base}_features.png", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
