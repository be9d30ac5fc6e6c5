"""precision@K against the formula, by hand."""

import numpy as np
import pytest

from deeprob_keras.retrieval import neighbour_hits, precision_at_k, precision_at_ks


def test_by_hand():
    neighbours = [[1, 1, 0, 1], [2, 0, 0, 2], [3, 3, 3, 3]]
    queries = [1, 2, 0]
    assert precision_at_k(neighbours, queries, 1) == pytest.approx((1 + 1 + 0) / 3)
    assert precision_at_k(neighbours, queries, 2) == pytest.approx((2 + 1 + 0) / 6)
    assert precision_at_k(neighbours, queries) == pytest.approx((3 + 2 + 0) / 12)
    assert precision_at_ks(neighbours, queries, [1, 4]) == {1: pytest.approx(2 / 3), 4: pytest.approx(5 / 12)}
    np.testing.assert_array_equal(neighbour_hits(neighbours, queries)[0], [True, True, False, True])


def test_bad_k_and_shapes():
    with pytest.raises(ValueError, match="k"):
        precision_at_k([[1, 2]], [1], 3)
    with pytest.raises(ValueError, match="k"):
        precision_at_k([[1, 2]], [1], 0)
    with pytest.raises(ValueError, match="Expected"):
        precision_at_k([[1, 2]], [1, 2])
