"""One helper for every layer test: config round trip, train vs inference,
`.keras` save/load, `tf.function` and `tf.data` map, shape inference.

Usage:
    run_layer_test(MyLayer, {"rate": 0.3}, input_shape=(4, 8, 8, 3),
                   identity_at_inference=True)
"""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_shape=None,
    input_data=None,
    identity_at_inference=False,
    expected_output_shape=None,
    check_tf_data=True,
    check_training_differs=False,
    seed=0,
):
    """Runs the standard checks on a layer; returns the layer it built."""
    if input_data is None:
        rng = np.random.default_rng(seed)
        input_data = rng.uniform(0.0, 1.0, size=input_shape).astype("float32")
    input_shape = input_data.shape

    # 1. Config round trip.
    layer = layer_cls(**init_kwargs)
    config = layer.get_config()
    for key, value in init_kwargs.items():
        if not isinstance(value, (keras.layers.Layer, keras.Model)):
            assert key in config, f"get_config() lacks {key!r}"
    rebuilt = layer_cls.from_config(config)
    assert rebuilt.get_config() == config, "from_config(get_config()) changed the config"

    # 2. Inference output, shape inference.
    out_infer = np.asarray(layer(input_data, training=False))
    if identity_at_inference:
        np.testing.assert_allclose(out_infer, input_data, rtol=1e-6, atol=1e-6)
    if expected_output_shape is not None:
        assert tuple(out_infer.shape) == tuple(expected_output_shape), out_infer.shape
    if hasattr(layer, "compute_output_shape"):
        try:
            inferred = layer.compute_output_shape(input_shape)
        except NotImplementedError:
            inferred = None
        if inferred is not None:
            assert tuple(inferred) == tuple(out_infer.shape), (inferred, out_infer.shape)

    # 3. Training output differs when it should.
    out_train = np.asarray(layer(input_data, training=True))
    assert out_train.shape == out_infer.shape
    if check_training_differs:
        assert not np.allclose(out_train, out_infer), "training=True changed nothing"

    # 4. tf.function (graph mode), both modes.
    graph_fn = tf.function(lambda x, t: layer(x, training=t))
    np.testing.assert_allclose(
        np.asarray(graph_fn(tf.constant(input_data), False)), out_infer, rtol=1e-5, atol=1e-5
    )
    assert tuple(graph_fn(tf.constant(input_data), True).shape) == out_infer.shape

    # 5. tf.data map.
    if check_tf_data:
        ds = tf.data.Dataset.from_tensor_slices(input_data).batch(input_shape[0])
        ds = ds.map(lambda x: layer(x, training=True))
        for batch in ds.take(1):
            assert tuple(batch.shape) == out_infer.shape

    # 6. .keras save/load in a model, identical inference outputs.
    inputs = keras.Input(shape=input_shape[1:])
    model = keras.Model(inputs, layer_cls(**init_kwargs)(inputs))
    expected = np.asarray(model(input_data, training=False))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(
        np.asarray(loaded(input_data, training=False)), expected, rtol=1e-6, atol=1e-6
    )
    return layer


def assert_invalid_argument(layer_cls, kwargs, argument_name):
    """Construction with `kwargs` raises ValueError naming `argument_name`."""
    import pytest

    with pytest.raises(ValueError, match=argument_name):
        layer_cls(**kwargs)
