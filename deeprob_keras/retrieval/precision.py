"""Precision@K of retrieval: the share of the K nearest neighbours that have the query's class.

    P@K = 1/Q sum_q 1/K sum_{j<K} [label(n_{q,j}) == label(q)]

with n_{q,0..K-1} the neighbours of query q, best first.
"""

import numpy as np

from deeprob_keras.validation import invalid, positive_int


def neighbour_hits(neighbour_labels, query_labels):
    """Boolean (Q, K): does neighbour j of query q have q's label?"""
    neighbour_labels, query_labels = np.asarray(neighbour_labels), np.asarray(query_labels)
    if neighbour_labels.ndim != 2 or query_labels.shape != (len(neighbour_labels),):
        raise ValueError(f"Expected neighbour labels (Q, K) and query labels (Q,). "
                         f"Received: {neighbour_labels.shape} and {query_labels.shape}")
    return neighbour_labels == query_labels[:, None]


def precision_at_k(neighbour_labels, query_labels, k=None):
    """P@k over the first k columns of `neighbour_labels` (all of them by default).

    Example:
        >>> precision_at_k([[1, 1, 0], [2, 0, 0]], [1, 2], k=2)
        0.75
    """
    hits = neighbour_hits(neighbour_labels, query_labels)
    k = hits.shape[1] if k is None else positive_int("k", k)
    if k > hits.shape[1]:
        raise invalid("k", k, f"an integer <= the {hits.shape[1]} neighbours given")
    return float(hits[:, :k].mean()) if len(hits) else 0.0


def precision_at_ks(neighbour_labels, query_labels, ks):
    """{k: P@k} for several k from one neighbour list (its width >= max(ks))."""
    return {int(k): precision_at_k(neighbour_labels, query_labels, k) for k in ks}
