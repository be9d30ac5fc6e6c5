"""Zero-gamma residual initialization: every residual block starts as its shortcut."""

import numpy as np
import pytest

import keras

from deeprob_keras.models.small_resnet import small_resnet
from deeprob_keras.recipe.schema import ModelSpec


def _model(zero_init_residual, widths=(8, 16)):
    keras.utils.set_random_seed(0)
    spec = ModelSpec(widths=list(widths), zero_init_residual=zero_init_residual)
    return small_resnet((28, 28, 1), 10, spec)


def _bn_gammas(model):
    return {layer.name: keras.ops.convert_to_numpy(layer.gamma)
            for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)}


def test_only_the_last_batch_norm_of_each_branch_starts_at_zero():
    gammas = _bn_gammas(_model(True))
    zero = sorted(name for name, g in gammas.items() if not g.any())
    assert zero == ["stage0_block0_b_bn", "stage1_block0_b_bn"]
    assert all(np.all(g == 1.0) for name, g in gammas.items() if name not in zero)
    assert all(np.all(g == 1.0) for g in _bn_gammas(_model(False)).values())


@pytest.mark.parametrize("training", [False, True])
def test_each_block_starts_as_relu_of_its_shortcut(training):
    model = _model(True)
    names = ["stem_relu", "stage0", "stage1_block0_proj", "stage1"]
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names])
    images = np.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype("float32")
    stem, stage0, proj, stage1 = (keras.ops.convert_to_numpy(t) for t in probe(images, training=training))
    # Identity shortcut: the stem's output is already >= 0, so ReLU(stem + 0) = stem.
    np.testing.assert_allclose(stage0, stem, atol=1e-6)
    # Projection shortcut: ReLU(1x1 conv of the input + 0).
    np.testing.assert_allclose(stage1, np.maximum(proj, 0.0), atol=1e-6)
    # Without it the branch adds something: the test can fail.
    plain = _model(False)
    probe = keras.Model(plain.input, [plain.get_layer(n).output for n in ["stem_relu", "stage0"]])
    stem, stage0 = (keras.ops.convert_to_numpy(t) for t in probe(images, training=training))
    assert np.abs(stage0 - stem).max() > 1e-3


def test_the_gammas_train_away_from_zero():
    model = _model(True)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(rng.uniform(size=(64, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 64), epochs=2,
              batch_size=32, verbose=0)
    assert np.abs(_bn_gammas(model)["stage1_block0_b_bn"]).max() > 0
