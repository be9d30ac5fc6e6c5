import numpy as np
import pytest
import keras

from deeprob_keras.losses import SmoothedCrossentropy, smooth_labels


def _np_smooth(labels, k, eps):
    onehot = np.eye(k)[labels]
    # Lecture: true class 1 - (K-1)/K * eps, every other class eps / K.
    target = np.full((len(labels), k), eps / k)
    target[np.arange(len(labels)), labels] = 1.0 - (k - 1) / k * eps
    np.testing.assert_allclose(target, (1 - eps) * onehot + eps / k)
    return target


def _np_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("k", [3, 10])
def test_smoothed_targets_match_formula(k):
    labels = np.arange(7) % k
    eps = 0.2
    expected = _np_smooth(labels, k, eps)
    for fmt in (labels, labels[:, None], np.eye(k, dtype="float32")[labels]):
        got = np.asarray(smooth_labels(fmt, k, eps))
        np.testing.assert_allclose(got, expected, rtol=1e-6)
        np.testing.assert_allclose(got.sum(axis=-1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("from_logits", [True, False])
def test_loss_matches_numpy_crossentropy(from_logits):
    rng = np.random.default_rng(0)
    k, eps = 5, 0.1
    logits = rng.normal(size=(6, k)).astype("float32")
    labels = rng.integers(0, k, size=6)
    probs = _np_softmax(logits)
    expected = np.mean(-np.sum(_np_smooth(labels, k, eps) * np.log(probs), axis=-1))
    loss = SmoothedCrossentropy(epsilon=eps, num_classes=k, from_logits=from_logits)
    y_pred = logits if from_logits else probs.astype("float32")
    for y_true in (labels, labels[:, None], np.eye(k)[labels].astype("float32")):
        np.testing.assert_allclose(float(loss(y_true, y_pred)), expected, rtol=1e-5)


def test_zero_epsilon_equals_keras_sparse_crossentropy():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(8, 4)).astype("float32")
    labels = rng.integers(0, 4, size=8)
    ours = SmoothedCrossentropy(epsilon=0.0, num_classes=4, from_logits=True)(labels, logits)
    ref = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    np.testing.assert_allclose(float(ours), float(ref), rtol=1e-5)


def test_soft_mixup_targets():
    k, eps, lam = 4, 0.1, 0.3
    logits = np.random.default_rng(2).normal(size=(2, k)).astype("float32")
    soft = lam * np.eye(k)[[0, 1]] + (1 - lam) * np.eye(k)[[2, 3]]
    target = (1 - eps) * soft + eps / k
    expected = np.mean(-np.sum(target * np.log(_np_softmax(logits)), axis=-1))
    loss = SmoothedCrossentropy(epsilon=eps, num_classes=k, from_logits=True)
    np.testing.assert_allclose(float(loss(soft.astype("float32"), logits)), expected, rtol=1e-5)


def test_serialization_round_trip_and_fit():
    loss = SmoothedCrossentropy(epsilon=0.2, num_classes=3, from_logits=True)
    rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(rebuilt, SmoothedCrossentropy)
    assert rebuilt.get_config() == loss.get_config()
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=loss)
    x = np.random.default_rng(3).normal(size=(16, 4)).astype("float32")
    hist = model.fit(x, np.arange(16) % 3, epochs=1, verbose=0)
    assert np.isfinite(hist.history["loss"][0])


@pytest.mark.parametrize("kwargs, name", [
    ({"epsilon": 1.0, "num_classes": 3}, "epsilon"),
    ({"epsilon": -0.1, "num_classes": 3}, "epsilon"),
    ({"epsilon": 0.1, "num_classes": 1}, "num_classes"),
    ({"epsilon": 0.1, "num_classes": 3, "from_logits": "yes"}, "from_logits"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SmoothedCrossentropy(**kwargs)
    if name == "epsilon":
        with pytest.raises(ValueError, match="epsilon"):
            smooth_labels([0], 3, kwargs["epsilon"])
