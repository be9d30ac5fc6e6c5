"""exact_knn / ExactIndex against a brute-force NumPy reference (stable sort by decreasing score)."""

import numpy as np
import pytest

from deeprob_keras.retrieval import ExactIndex, exact_knn


def reference(queries, gallery, k, metric):
    if metric == "inner_product":
        scores = queries @ gallery.T
    else:
        scores = -((queries[:, None, :] - gallery[None, :, :]) ** 2).sum(-1)
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # ties: lower gallery index first
    return np.take_along_axis(scores, order, 1), order


@pytest.mark.parametrize("metric", ["inner_product", "l2"])
@pytest.mark.parametrize("gallery_chunk, query_chunk", [(1000, 1000), (7, 3), (1, 2), (10, 5), (11, 100)])
def test_matches_brute_force_with_ties_across_chunk_boundaries(metric, gallery_chunk, query_chunk):
    rng = np.random.default_rng(0)
    # small integers: many exact ties, and integer arithmetic is exact in float32
    gallery = rng.integers(-2, 3, size=(53, 4)).astype(np.float32)
    gallery[20] = gallery[9]  # the same vector on both sides of chunk boundaries (chunks of 7, 10, 11)
    gallery[41] = gallery[9]
    queries = np.concatenate([rng.integers(-2, 3, size=(12, 4)), gallery[[9, 0]]]).astype(np.float32)
    for k in (1, 5, 20, 53):
        want_scores, want_idx = reference(queries, gallery, k, metric)
        scores, idx = exact_knn(queries, gallery, k, metric=metric, query_chunk=query_chunk,
                                gallery_chunk=gallery_chunk)
        assert scores.shape == idx.shape == (len(queries), k) and idx.dtype == np.int64
        np.testing.assert_array_equal(idx, want_idx)
        np.testing.assert_allclose(scores, want_scores, atol=1e-5)


def test_float_data_and_l2_finds_the_query_itself():
    rng = np.random.default_rng(1)
    gallery = rng.normal(size=(300, 16)).astype(np.float32)
    queries = gallery[[5, 150, 299]] + 1e-4
    scores, idx = exact_knn(queries, gallery, 3, metric="l2", gallery_chunk=64)
    np.testing.assert_array_equal(idx[:, 0], [5, 150, 299])
    _, want = reference(queries, gallery, 3, "l2")
    np.testing.assert_array_equal(idx, want)
    assert np.all(np.diff(scores, axis=1) <= 0)


def test_memmap_gallery(tmp_path):
    rng = np.random.default_rng(2)
    gallery = rng.normal(size=(100, 8)).astype(np.float32)
    path = tmp_path / "g.npy"
    np.save(path, gallery)
    mm = np.load(path, mmap_mode="r")
    queries = rng.normal(size=(4, 8)).astype(np.float32)
    np.testing.assert_array_equal(exact_knn(queries, mm, 6, gallery_chunk=16)[1],
                                  reference(queries, gallery, 6, "inner_product")[1])


def test_index_add_in_parts_equals_one_gallery():
    rng = np.random.default_rng(3)
    gallery = rng.normal(size=(40, 5)).astype(np.float32)
    queries = rng.normal(size=(6, 5)).astype(np.float32)
    index = ExactIndex(gallery_chunk=9)
    index.add(gallery[:17])
    index.add(gallery[17:])
    assert index.size == 40
    np.testing.assert_array_equal(index.search(queries, 4)[1], exact_knn(queries, gallery, 4)[1])


@pytest.mark.parametrize("kwargs, match", [
    ({"k": 0}, "k"), ({"k": 11}, "gallery size 10"), ({"k": 2, "metric": "cos"}, "metric"),
    ({"k": 2, "gallery_chunk": 0}, "gallery_chunk"), ({"k": 1.5}, "k")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        exact_knn(np.zeros((2, 3), np.float32), np.zeros((10, 3), np.float32), **kwargs)


def test_dimension_mismatch_and_empty_index():
    with pytest.raises(ValueError, match="same D"):
        exact_knn(np.zeros((2, 3)), np.zeros((10, 4)), 1)
    with pytest.raises(ValueError, match="empty"):
        ExactIndex().search(np.zeros((1, 3)), 1)
