"""The faiss HNSW backend (skipped when faiss is not installed) and recall@k."""

import numpy as np
import pytest

from deeprob_keras.retrieval import exact_knn, faiss_available, recall_at_k
from deeprob_keras.retrieval.approximate import FaissHNSWIndex, INSTALL_HINT


def test_recall_by_hand():
    assert recall_at_k([[1, 2, 3], [4, 5, 6]], [[3, 2, 9], [4, 5, 6]]) == pytest.approx((2 / 3 + 1) / 2)
    with pytest.raises(ValueError):
        recall_at_k([[1, 2]], [[1, 2, 3]])


@pytest.mark.skipif(faiss_available(), reason="faiss is installed")
def test_missing_faiss_names_the_package():
    with pytest.raises(ImportError, match="faiss-cpu"):
        FaissHNSWIndex(4)
    assert "pip install faiss-cpu" in INSTALL_HINT


@pytest.mark.skipif(not faiss_available(), reason="faiss is not installed (pip install faiss-cpu)")
@pytest.mark.parametrize("metric", ["inner_product", "l2"])
def test_hnsw_recall_against_exact(metric):
    rng = np.random.default_rng(0)
    gallery = rng.normal(size=(2000, 16)).astype(np.float32)
    gallery /= np.linalg.norm(gallery, axis=1, keepdims=True)
    queries = rng.normal(size=(50, 16)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact_scores, exact_idx = exact_knn(queries, gallery, 10, metric=metric)
    index = FaissHNSWIndex(16, metric=metric, ef_search=128)
    index.add(gallery)
    assert index.size == 2000
    scores, idx = index.search(queries, 10)
    assert idx.shape == (50, 10) and idx.dtype == np.int64
    recall = recall_at_k(idx, exact_idx)
    assert recall >= 0.9, recall  # a small, well-connected graph: nearly exact
    # where it agrees with exact search, it gives the same scores (same sign convention)
    same = idx[:, 0] == exact_idx[:, 0]
    np.testing.assert_allclose(scores[same, 0], exact_scores[same, 0], atol=1e-4)


@pytest.mark.skipif(not faiss_available(), reason="faiss is not installed (pip install faiss-cpu)")
def test_hnsw_bad_arguments():
    with pytest.raises(ValueError, match="metric"):
        FaissHNSWIndex(4, metric="cosine")
    with pytest.raises(ValueError, match="m"):
        FaissHNSWIndex(4, m=1)
    with pytest.raises(ValueError, match="Expected vectors"):
        FaissHNSWIndex(4).add(np.zeros((3, 5)))
