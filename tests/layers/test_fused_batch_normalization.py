"""FusedBatchNormalization: Keras's BatchNormalization, computed by TensorFlow's fused kernel.

Checked against the formula written out in NumPy and against `keras.layers.BatchNormalization` on the same
inputs and weights: outputs, gradients, moving statistics, inference; float32 and bfloat16; the fallback
paths; serialization; the recipe switch; two replicas."""

import numpy as np
import pytest

from tests.distribute import run_in_two_replicas


def _pair(shape, momentum=0.9, seed=0, **kwargs):
    import keras

    from deeprob_keras.layers import FusedBatchNormalization

    rng = np.random.default_rng(seed)
    ours, theirs = FusedBatchNormalization(momentum=momentum, **kwargs), keras.layers.BatchNormalization(
        momentum=momentum, **kwargs)
    for layer in (ours, theirs):
        layer.build(shape)
    channels = shape[kwargs.get("axis", -1)]
    gamma, beta = rng.normal(1.0, 0.3, channels), rng.normal(0.0, 0.3, channels)
    for layer in (ours, theirs):
        if layer.scale:
            layer.gamma.assign(gamma)
        if layer.center:
            layer.beta.assign(beta)
    return ours, theirs, rng


def test_training_output_and_moving_statistics_follow_the_formula():
    ours, _, rng = _pair((6, 5, 4, 3), momentum=0.8, epsilon=1e-3)
    x = rng.normal(2.0, 3.0, (6, 5, 4, 3)).astype("float32")
    y = np.asarray(ours(x, training=True))
    mu, var = x.mean(axis=(0, 1, 2)), x.var(axis=(0, 1, 2))  # biased, as in the lecture's batch norm
    gamma, beta = ours.gamma.numpy(), ours.beta.numpy()
    np.testing.assert_allclose(y, gamma * (x - mu) / np.sqrt(var + 1e-3) + beta, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.moving_mean.numpy(), 0.8 * 0.0 + 0.2 * mu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.moving_variance.numpy(), 0.8 * 1.0 + 0.2 * var, rtol=1e-5)
    # Inference: the moving statistics replace the batch's.
    m, v = ours.moving_mean.numpy(), ours.moving_variance.numpy()
    np.testing.assert_allclose(np.asarray(ours(x, training=False)), gamma * (x - m) / np.sqrt(v + 1e-3) + beta,
                               rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_matches_keras_batch_normalization_outputs_gradients_and_statistics(dtype):
    import tensorflow as tf

    shape = (8, 6, 6, 5)
    ours, theirs, rng = _pair(shape, dtype="mixed_bfloat16" if dtype == "bfloat16" else "float32")
    x = tf.cast(tf.constant(rng.normal(1.0, 2.0, shape).astype("float32")), dtype)
    weights = tf.constant(rng.normal(size=shape).astype("float32"))  # a loss that is not flat in x
    results = []
    for layer in (ours, theirs):
        for _ in range(2):  # two steps: the moving statistics compound
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = layer(x, training=True)
                loss = tf.reduce_sum(tf.cast(y, "float32") * weights)
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append((y, grads, layer.moving_mean.numpy(), layer.moving_variance.numpy(),
                        layer(x, training=False)))
    (y1, g1, m1, v1, i1), (y2, g2, m2, v2, i2) = results
    assert y1.dtype == y2.dtype == tf.as_dtype(dtype)
    tol = 1e-4 if dtype == "float32" else 2e-2  # bfloat16 outputs carry 8 bits of mantissa
    np.testing.assert_allclose(np.asarray(tf.cast(y1, "float32")), np.asarray(tf.cast(y2, "float32")), atol=tol)
    for a, b in zip(g1, g2):
        a, b = np.asarray(tf.cast(a, "float32")), np.asarray(tf.cast(b, "float32"))
        np.testing.assert_allclose(a, b, atol=tol * max(1.0, float(np.abs(b).max())))
    np.testing.assert_allclose(m1, m2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v1, v2, rtol=1e-5)
    np.testing.assert_allclose(np.asarray(tf.cast(i1, "float32")), np.asarray(tf.cast(i2, "float32")), atol=tol)


@pytest.mark.parametrize("kwargs,shape", [({"axis": 1}, (4, 3, 5, 5)),  # channels first: Keras's path
                                          ({}, (4, 7)),  # dense features: Keras's path
                                          ({"center": False, "scale": False}, (4, 5, 5, 3))])
def test_other_shapes_axes_and_no_affine_match_keras(kwargs, shape):
    ours, theirs, rng = _pair(shape, **kwargs)
    x = rng.normal(0.5, 2.0, shape).astype("float32")
    for training in (True, False):
        np.testing.assert_allclose(np.asarray(ours(x, training=training)), np.asarray(theirs(x, training=training)),
                                   rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.moving_variance.numpy(), theirs.moving_variance.numpy(), rtol=1e-5)


def test_config_graph_mode_and_keras_file_round_trip(tmp_path):
    """(Not `run_layer_test`: a training call moves the moving statistics, which its later checks assume fixed.)"""
    import keras
    import tensorflow as tf

    from deeprob_keras.layers import FusedBatchNormalization

    layer = FusedBatchNormalization(momentum=0.7, epsilon=1e-3, name="bn")
    assert FusedBatchNormalization.from_config(layer.get_config()).get_config() == layer.get_config()
    x = np.random.default_rng(0).normal(1.0, 2.0, (4, 6, 6, 3)).astype("float32")
    inputs = keras.Input((6, 6, 3))
    model = keras.Model(inputs, layer(inputs))
    eager = np.asarray(model(x, training=True))
    layer.moving_mean.assign(np.zeros(3)), layer.moving_variance.assign(np.ones(3))
    graph = tf.function(lambda t: model(t, training=True))
    np.testing.assert_allclose(np.asarray(graph(tf.constant(x))), eager, rtol=1e-5, atol=1e-5)
    assert np.abs(layer.moving_mean.numpy()).max() > 0.1  # the graph's step updated the statistics
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(loaded.get_layer("bn"), FusedBatchNormalization)
    np.testing.assert_allclose(np.asarray(loaded(x, training=False)), np.asarray(model(x, training=False)),
                               rtol=1e-6, atol=1e-6)


def test_recipe_switch_builds_fused_layers_and_refuses_without_batch_norm():
    import keras

    from deeprob_keras.layers import FusedBatchNormalization
    from deeprob_keras.models import build_model
    from deeprob_keras.recipe import RecipeError, recipe_from_dict

    recipe = recipe_from_dict({"model": {"widths": [4, 8], "fused_batch_norm": True}})
    model = build_model(recipe, (12, 12, 1), 3)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(isinstance(layer, FusedBatchNormalization) for layer in norms)
    plain = build_model(recipe_from_dict({"model": {"widths": [4, 8]}}), (12, 12, 1), 3)
    assert not any(isinstance(layer, FusedBatchNormalization) for layer in plain.layers)
    with pytest.raises(RecipeError, match="fused_batch_norm needs"):
        recipe_from_dict({"model": {"widths": [4, 8], "batch_norm": False, "fused_batch_norm": True}})


def fit_two_replicas(strategy):
    import keras

    from deeprob_keras.layers import FusedBatchNormalization

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, size=(64, 6, 6, 2)).astype("float32")
    y = rng.integers(0, 3, size=(64,))
    with strategy.scope():
        inputs = keras.Input((6, 6, 2))
        h = keras.layers.Conv2D(4, 3, padding="same", use_bias=False)(inputs)
        h = FusedBatchNormalization(momentum=0.5, name="bn")(h)
        h = keras.layers.GlobalAveragePooling2D()(keras.layers.ReLU()(h))
        model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))
        model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    features = keras.Model(inputs, model.get_layer("bn").input)
    conv = np.asarray(features.predict(x, verbose=0))
    return {"loss": history.history["loss"], "replicas": strategy.num_replicas_in_sync,
            "moving_mean": model.get_layer("bn").moving_mean.numpy().tolist(),
            "batch_mean": conv.mean(axis=(0, 1, 2)).tolist()}


def test_fit_under_two_replicas():
    result = run_in_two_replicas("tests.layers.test_fused_batch_normalization:fit_two_replicas")
    assert result["replicas"] == 2
    assert np.all(np.isfinite(result["loss"]))
    # momentum 0.5 over 8 steps: the moving mean has moved from 0 to about the features' mean
    np.testing.assert_allclose(result["moving_mean"], result["batch_mean"], atol=0.25)


def test_batchnorm_recalibration_averages_the_batch_statistics():
    import keras
    import tensorflow as tf

    from deeprob_keras.layers import FusedBatchNormalization
    from deeprob_keras.training.batchnorm_recalibration import recalibrate_batchnorm

    rng = np.random.default_rng(0)
    batches = [rng.normal(m, 1.0, (16, 4, 4, 2)).astype("float32") for m in (0.0, 2.0, 4.0)]
    inputs = keras.Input((4, 4, 2))
    layer = FusedBatchNormalization(momentum=0.99)
    model = keras.Model(inputs, layer(inputs))
    assert recalibrate_batchnorm(model, tf.data.Dataset.from_tensor_slices(np.stack(batches)), num_batches=3) == 1
    np.testing.assert_allclose(layer.moving_mean.numpy(), np.mean([b.mean(axis=(0, 1, 2)) for b in batches], axis=0),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(),
                               np.mean([b.var(axis=(0, 1, 2)) for b in batches], axis=0), rtol=1e-5)
    assert layer.momentum == 0.99
