"""Keras core Dropout is already inverted dropout: we reuse it, and prove it."""

import keras
import numpy as np


def test_keras_dropout_scales_kept_units_in_training_and_is_identity_at_test():
    p = 0.25
    layer = keras.layers.Dropout(p, seed=0)
    x = np.ones((100, 100), "float32")
    train = np.asarray(layer(x, training=True))
    kept = train[train != 0]
    np.testing.assert_allclose(kept, 1.0 / (1.0 - p), rtol=1e-6)   # H * mask / p_keep
    assert abs(np.mean(train == 0) - p) < 5 * np.sqrt(p * (1 - p) / x.size)
    assert abs(train.mean() - 1.0) < 0.03                          # E[train] = test output
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
