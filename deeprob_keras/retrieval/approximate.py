"""Approximate k-NN with faiss's HNSW graph (optional: `pip install faiss-cpu`), and its recall against exact search.

An HNSW index (Malkov & Yashunin, 2018) links every vector to `m` neighbours
in a layered graph and answers a query by a greedy walk; `ef_search` is the
size of the walk's candidate list (larger: slower, higher recall). It may miss
true neighbours, so its quality is measured against `exact_knn`:

    recall@k = 1/Q sum_q |A_q ∩ E_q| / k

with A_q the k indices it returns and E_q the exact k (ties in E_q make this
a lower bound).
"""

import importlib.util

import numpy as np

from deeprob_keras.validation import invalid, one_of, positive_int

INSTALL_HINT = "the approximate backend needs faiss: pip install faiss-cpu (or 'deeprob-keras[retrieval]')"


def faiss_available():
    """True when `import faiss` would work."""
    return importlib.util.find_spec("faiss") is not None


def recall_at_k(approx_indices, exact_indices):
    """Mean fraction of the exact k neighbours found by the approximate search (both (Q, k))."""
    approx, exact = np.asarray(approx_indices), np.asarray(exact_indices)
    if approx.shape != exact.shape or approx.ndim != 2:
        raise ValueError(f"Expected two (Q, k) index arrays of one shape. "
                         f"Received: {approx.shape} and {exact.shape}")
    if approx.size == 0:
        return 0.0
    found = [len(np.intersect1d(a, e)) for a, e in zip(approx, exact)]
    return float(np.mean(found) / exact.shape[1])


class FaissHNSWIndex:
    """faiss `IndexHNSWFlat` with `add` / `search` like `ExactIndex` (scores: higher is nearer).

    Args:
        dim: int, the vectors' dimension.
        metric: "inner_product" (default; cosine for L2-normalized embeddings) or "l2"
            (scores are negative squared distances, as in `exact_knn`).
        m: int >= 2, graph neighbours per node (default 32).
        ef_construction: int >= 1, candidate list while building (default 80).
        ef_search: int >= 1, candidate list while searching (default 64; raised to k when smaller).

    Raises:
        ImportError: faiss is not installed (the message says what to install).

    Example:
        >>> index = FaissHNSWIndex(64)
        >>> index.add(train_embeddings)
        >>> scores, idx = index.search(test_embeddings, k=10)
    """

    def __init__(self, dim, metric="inner_product", m=32, ef_construction=80, ef_search=64):
        try:
            import faiss
        except ImportError as e:
            raise ImportError(INSTALL_HINT) from e
        self.dim = positive_int("dim", dim)
        self.metric = one_of("metric", metric, ("inner_product", "l2"))
        if positive_int("m", m) < 2:
            raise invalid("m", m, "an integer >= 2")
        self.ef_search = positive_int("ef_search", ef_search)
        faiss_metric = faiss.METRIC_INNER_PRODUCT if metric == "inner_product" else faiss.METRIC_L2
        self.index = faiss.IndexHNSWFlat(self.dim, m, faiss_metric)
        self.index.hnsw.efConstruction = positive_int("ef_construction", ef_construction)

    @property
    def size(self):
        return int(self.index.ntotal)

    def add(self, vectors):
        """Appends rows (N, dim) to the index."""
        vectors = np.ascontiguousarray(vectors, np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"Expected vectors (N, {self.dim}). Received: vectors.shape={vectors.shape}")
        self.index.add(vectors)

    def search(self, queries, k):
        """`(scores, indices)` (Q, k), best first; indices are -1 where the graph found fewer than k."""
        k = positive_int("k", k)
        self.index.hnsw.efSearch = max(self.ef_search, k)
        scores, indices = self.index.search(np.ascontiguousarray(queries, np.float32), k)
        if self.metric == "l2":
            scores = -scores  # faiss returns squared distances
        return scores.astype(np.float32), indices.astype(np.int64)
