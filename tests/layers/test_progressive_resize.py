"""Progressive resizing: the per-epoch sizes, the layer (resize in training, identity at inference) and the
callback that drives it through `fit`, resumes and saves."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.callbacks import ProgressiveResizing
from deeprob_keras.layers import ProgressiveResize, progressive_sizes
from tests.distribute import run_in_two_replicas
from tests.layer_testing import run_layer_test


def test_sizes_rise_linearly_to_full_size_at_the_ramp_end():
    assert progressive_sizes(16, 28, 4, 6) == [16, 19, 22, 25, 28, 28]
    sizes = progressive_sizes(14, 28, 20, 30)
    assert sizes[0] == 14 and sizes[10] == 21 and sizes[19] == round(14 + 14 * 19 / 20)
    assert sizes[20:] == [28] * 10
    assert all(a <= b for a, b in zip(sizes, sizes[1:]))
    assert progressive_sizes(16, 28, 0, 3) == [28, 28, 28]  # no ramp: all full size


@pytest.mark.parametrize("kwargs, fragment", [
    ({"min_size": 30, "full_size": 28, "ramp_epochs": 2, "epochs": 3}, "min_size` must be <= `full_size"),
    ({"min_size": 0, "full_size": 28, "ramp_epochs": 2, "epochs": 3}, "min_size"),
    ({"min_size": 16, "full_size": 28, "ramp_epochs": -1, "epochs": 3}, "ramp_epochs"),
    ({"min_size": 16.5, "full_size": 28, "ramp_epochs": 2, "epochs": 3}, "min_size"),
])
def test_bad_sizes_are_refused(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        progressive_sizes(**kwargs)


def test_layer_resizes_in_training_and_is_the_identity_at_inference():
    layer = ProgressiveResize()
    x = np.random.default_rng(0).uniform(size=(2, 28, 28, 1)).astype("float32")
    layer.build(x.shape)
    np.testing.assert_array_equal(layer(x, training=True), x)  # full size: untouched
    layer.set_size(16)
    out = layer(x, training=True)
    assert out.shape == (2, 16, 16, 1)
    np.testing.assert_allclose(out, tf.image.resize(x, (16, 16), antialias=True), atol=1e-6)
    np.testing.assert_array_equal(layer(x, training=False), x)
    assert layer.compute_output_shape((None, 28, 28, 1)) == (None, 28, 28, 1)


def test_layer_keeps_the_aspect_ratio_and_refuses_bad_sizes():
    layer = ProgressiveResize(interpolation="area")
    layer.build((None, 20, 40, 3))
    layer.set_size(10)
    assert list(layer.size.numpy()) == [10, 20]
    for bad in (0, 21, 10.0, True):
        with pytest.raises(ValueError, match="height"):
            layer.set_size(bad)
    with pytest.raises(ValueError, match="interpolation"):
        ProgressiveResize(interpolation="lanczos9")
    with pytest.raises(ValueError, match="known H and W"):
        ProgressiveResize().build((None, None, None, 3))


def test_standard_layer_checks():
    run_layer_test(ProgressiveResize, {"interpolation": "bilinear", "antialias": False}, input_shape=(2, 12, 12, 3),
                   identity_at_inference=True, expected_output_shape=(2, 12, 12, 3))


def test_layer_computes_in_float32_under_mixed_bfloat16():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        layer = ProgressiveResize()
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    layer.build((None, 8, 8, 1))
    layer.set_size(4)
    assert layer(np.ones((1, 8, 8, 1), "float32"), training=True).dtype == "float32"


class _SeenSide(keras.layers.Layer):
    """Records the spatial side its input had in the last training step (inside the traced graph)."""

    def build(self, input_shape):
        self.side = self.add_weight(shape=(), dtype="int32", trainable=False, initializer="zeros", name="side",
                                    aggregation="only_first_replica")

    def call(self, x, training=None):
        if training:
            self.side.assign(tf.shape(x)[1])
        return x


def _model(side=12):
    inputs = keras.Input((side, side, 1))
    x = ProgressiveResize(name="progressive_resize")(inputs)
    x = _SeenSide(name="seen")(x)
    x = keras.layers.Conv2D(4, 3, padding="same")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(x))
    model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy")
    return model


class _RecordSides(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.trained, self.after = [], []

    def on_epoch_end(self, epoch, logs=None):
        self.trained.append(int(self.model.get_layer("seen").side.numpy()))
        self.after.append(list(self.model.get_layer("progressive_resize").size.numpy()))


def _data(n=48, side=12):
    rng = np.random.default_rng(0)
    return rng.uniform(size=(n, side, side, 1)).astype("float32"), rng.integers(0, 3, size=(n,))


def test_fit_trains_each_epoch_at_its_size_and_saves_at_full_size():
    keras.utils.set_random_seed(0)
    model = _model()
    x, y = _data()
    resizing, record = ProgressiveResizing(min_size=6, ramp_epochs=3), _RecordSides()
    model.fit(x, y, batch_size=16, epochs=5, callbacks=[resizing, record], validation_data=(x, y), verbose=0)
    assert record.trained == [6, 8, 10, 12, 12]  # progressive_sizes(6, 12, 3, 5), seen inside the graph
    assert resizing.sizes == dict(enumerate([6, 8, 10, 12, 12]))
    assert record.after == [[12, 12]] * 5  # reset before later callbacks (checkpoints) run


def test_a_resumed_fit_continues_the_sizes():
    keras.utils.set_random_seed(0)
    x, y = _data()
    model, record = _model(), _RecordSides()
    model.fit(x, y, batch_size=16, epochs=5, initial_epoch=2, verbose=0,
              callbacks=[ProgressiveResizing(min_size=6, ramp_epochs=4), record])
    assert record.trained == [9, 11, 12]


def test_a_saved_model_loads_and_trains_at_full_size(tmp_path):
    x, y = _data()
    model = _model()
    model.fit(x, y, batch_size=16, epochs=2, callbacks=[ProgressiveResizing(6, 2)], verbose=0)
    path = os.path.join(tmp_path, "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path, custom_objects={"_SeenSide": _SeenSide})
    assert list(loaded.get_layer("progressive_resize").size.numpy()) == [12, 12]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"min_size": "16", "ramp_epochs": 2}, "min_size"), ({"min_size": 0, "ramp_epochs": 2}, "min_size"),
    ({"min_size": 16, "ramp_epochs": -1}, "ramp_epochs"), ({"min_size": 16, "ramp_epochs": 2.0}, "ramp_epochs"),
])
def test_callback_refuses_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=f"Expected an integer >= .* for `{fragment}`"):
        ProgressiveResizing(**kwargs)


def test_callback_refuses_a_model_without_the_layer_and_a_too_large_min_size():
    x, y = _data()
    inputs = keras.Input((12, 12, 1))
    plain = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inputs)))
    plain.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="ProgressiveResize layer"):
        plain.fit(x, y, epochs=1, callbacks=[ProgressiveResizing(6, 1)], verbose=0)
    with pytest.raises(ValueError, match="min_size must be <= the image height 12"):
        _model().fit(x, y, epochs=1, callbacks=[ProgressiveResizing(13, 1)], verbose=0)


def fit_two_replicas(strategy):
    from tests.layers.test_progressive_resize import _RecordSides, _data, _model

    x, y = _data(64)
    with strategy.scope():
        model = _model()
    record = _RecordSides()
    history = model.fit(x, y, batch_size=16, epochs=3, callbacks=[ProgressiveResizing(6, 2), record], verbose=0)
    return {"trained": record.trained, "loss": history.history["loss"]}


def test_fit_under_two_replicas():
    result = run_in_two_replicas("tests.layers.test_progressive_resize:fit_two_replicas")
    assert result["trained"] == [6, 9, 12]
    assert all(np.isfinite(result["loss"]))
