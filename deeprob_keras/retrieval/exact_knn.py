"""Exact k nearest neighbours: a TensorFlow matmul and `top_k` over the gallery, in chunks.

Scores, higher is nearer:

- `metric="inner_product"`: `s(q, g) = q . g` (cosine similarity for L2-normalized embeddings);
- `metric="l2"`: `s(q, g) = -||q - g||^2 = 2 q . g - ||g||^2 - ||q||^2` (the lecture's pixel distance).

The gallery is scored `gallery_chunk` rows at a time and the running best k
are merged with each chunk's best k, so memory holds at most
`query_chunk x gallery_chunk` scores whatever the gallery's size (a NumPy
memmap works as gallery). Ties go to the lower gallery index, as in a stable
sort by decreasing score: `tf.math.top_k` puts equal values in index order,
and the running best (earlier indices) come before each new chunk in the merge.
"""

import numpy as np
import tensorflow as tf

from deeprob_keras.validation import invalid, is_int, one_of, positive_int

METRICS = ("inner_product", "l2")


_MATRIX = tf.TensorSpec([None, None], tf.float32)


# One trace for every shape, k and metric (a signature of unknown dimensions).
@tf.function(input_signature=[_MATRIX, tf.TensorSpec([None, None], tf.int64), _MATRIX, _MATRIX,
                              tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.int32), tf.TensorSpec([], tf.bool)])
def _merge_chunk(best_scores, best_indices, queries, chunk, offset, k, l2):
    scores = tf.matmul(queries, chunk, transpose_b=True)
    scores = tf.cond(l2, lambda: 2.0 * scores - tf.reduce_sum(tf.square(chunk), axis=1)[None, :]
                     - tf.reduce_sum(tf.square(queries), axis=1, keepdims=True), lambda: scores)
    k_chunk = tf.minimum(k, tf.shape(chunk)[0])
    values, indices = tf.math.top_k(scores, k=k_chunk, sorted=True)
    values = tf.concat([best_scores, values], axis=1)  # the earlier (lower) indices first: ties keep them
    indices = tf.concat([best_indices, tf.cast(indices, tf.int64) + offset], axis=1)
    values, order = tf.math.top_k(values, k=tf.minimum(k, tf.shape(values)[1]), sorted=True)
    return values, tf.gather(indices, order, batch_dims=1)


def exact_knn(queries, gallery, k, metric="inner_product", query_chunk=1024, gallery_chunk=8192):
    """The k best gallery rows for every query, exactly; returns `(scores, indices)`, each (Q, k).

    Args:
        queries: float array (Q, D).
        gallery: float array (N, D), N >= k (a NumPy memmap is read chunk by chunk).
        k: int >= 1.
        metric: "inner_product" (default) or "l2" (scores are negative squared distances).
        query_chunk, gallery_chunk: rows scored at once (memory: their product).

    Returns:
        `scores` float32 (Q, k), best first; `indices` int64 (Q, k) into `gallery`.

    Example:
        >>> scores, idx = exact_knn(test_embeddings, train_embeddings, k=5)
        >>> train_labels[idx]  # the labels of the 5 nearest training images of each test image
    """
    one_of("metric", metric, METRICS)
    k = positive_int("k", k)
    query_chunk, gallery_chunk = positive_int("query_chunk", query_chunk), positive_int("gallery_chunk", gallery_chunk)
    queries = np.asarray(queries, np.float32)
    if queries.ndim != 2 or gallery.ndim != 2 or queries.shape[1] != gallery.shape[1]:
        raise ValueError(f"Expected queries (Q, D) and gallery (N, D) of the same D. "
                         f"Received: queries.shape={queries.shape}, gallery.shape={gallery.shape}")
    if k > len(gallery):
        raise invalid("k", k, f"an integer <= the gallery size {len(gallery)}")
    all_scores, all_indices = [], []
    for q0 in range(0, len(queries), query_chunk):
        q = tf.constant(queries[q0:q0 + query_chunk])
        best = tf.zeros((q.shape[0], 0), tf.float32)
        best_idx = tf.zeros((q.shape[0], 0), tf.int64)
        for g0 in range(0, len(gallery), gallery_chunk):
            chunk = tf.constant(np.asarray(gallery[g0:g0 + gallery_chunk], np.float32))
            best, best_idx = _merge_chunk(best, best_idx, q, chunk, tf.constant(g0, tf.int64),
                                          tf.constant(k, tf.int32), tf.constant(metric == "l2"))
        all_scores.append(best.numpy())
        all_indices.append(best_idx.numpy())
    if not all_scores:
        return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
    return np.concatenate(all_scores), np.concatenate(all_indices)


class ExactIndex:
    """A gallery searched exactly by `exact_knn` (the interface of `FaissHNSWIndex`: `add`, `search`).

    Example:
        >>> index = ExactIndex(metric="inner_product")
        >>> index.add(train_embeddings)
        >>> scores, idx = index.search(test_embeddings, k=10)
    """

    def __init__(self, metric="inner_product", query_chunk=1024, gallery_chunk=8192):
        self.metric = one_of("metric", metric, METRICS)
        self.query_chunk = positive_int("query_chunk", query_chunk)
        self.gallery_chunk = positive_int("gallery_chunk", gallery_chunk)
        self._parts = []

    def add(self, vectors):
        """Appends rows (N, D) to the gallery; their indices follow the earlier ones."""
        vectors = np.asarray(vectors, np.float32)
        if self._parts and vectors.shape[1:] != self._parts[0].shape[1:]:
            raise ValueError(f"Expected vectors of dimension {self._parts[0].shape[1]}. "
                             f"Received: vectors.shape={vectors.shape}")
        self._parts.append(vectors)
        if len(self._parts) > 1:
            self._parts = [np.concatenate(self._parts)]

    @property
    def size(self):
        return sum(len(p) for p in self._parts)

    def search(self, queries, k):
        """`(scores, indices)` of the k nearest gallery rows of each query (see `exact_knn`)."""
        if not self._parts:
            raise ValueError("the index is empty: call add(vectors) first")
        if not is_int(k):
            raise invalid("k", k, "an integer >= 1")
        return exact_knn(queries, self._parts[0], k, self.metric, self.query_chunk, self.gallery_chunk)
