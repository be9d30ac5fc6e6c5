import numpy as np
import pytest
import keras
import tensorflow as tf

from deeprob_keras.augment import MixUp, mixup
from deeprob_keras.augment._sampling import sample_beta
from tests.distribute import run_in_two_replicas


def _batch(b=8, k=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(b, 5, 5, 3)).astype("float32")
    y = np.eye(k, dtype="float32")[np.arange(b) % k]
    return x, y


def test_mixup_formula_with_fixed_params():
    x, y = _batch()
    lam = np.linspace(0.1, 0.9, 8).astype("float32")
    perm = np.array([3, 0, 1, 2, 7, 6, 5, 4], dtype="int32")
    xm, ym = mixup(x, y, lam, perm)
    np.testing.assert_allclose(xm, lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * x[perm], rtol=1e-6)
    np.testing.assert_allclose(ym, lam[:, None] * y + (1 - lam[:, None]) * y[perm], rtol=1e-6)
    xs, ys = mixup(x, y, 0.25, perm)  # a scalar lambda broadcasts
    np.testing.assert_allclose(ys, 0.25 * y + 0.75 * y[perm], rtol=1e-6)


@pytest.mark.parametrize("alpha", [0.2, 1.0, 4.0])
def test_beta_moments(alpha):
    lam = np.asarray(sample_beta((20000,), alpha, keras.random.SeedGenerator(1)))
    assert lam.min() >= 0.0 and lam.max() <= 1.0
    var = 1.0 / (4.0 * (2.0 * alpha + 1.0))  # Beta(a, a): mean 1/2, var 1 / (4 (2a + 1))
    assert abs(lam.mean() - 0.5) < 0.02
    assert abs(lam.var() - var) < 0.1 * var


def test_small_alpha_puts_mass_near_zero_and_one():
    # Beta(0.2, 0.2): P(lam < 0.1 or lam > 0.9) ~ 0.66; the alpha-as-rate bug
    # (keras-cv#1361) gives a uniform lambda, i.e. 0.2.
    lam = np.asarray(sample_beta((20000,), 0.2, keras.random.SeedGenerator(2)))
    ref = np.random.default_rng(0).beta(0.2, 0.2, size=200000)
    tails = np.mean((lam < 0.1) | (lam > 0.9))
    assert tails > 0.5
    assert abs(tails - np.mean((ref < 0.1) | (ref > 0.9))) < 0.02


def test_class_call_keeps_label_mass_and_is_a_convex_mix():
    x, y = _batch()
    xm, ym = MixUp(alpha=1.0, seed=3)(x, y)
    ym = np.asarray(ym)
    np.testing.assert_allclose(ym.sum(axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(np.asarray(xm), x)


def test_tf_function_and_tf_data_map_draw_new_params():
    x, y = _batch(16)
    mix = MixUp(alpha=1.0, seed=4)
    out = tf.function(mix)(tf.constant(x), tf.constant(y))
    assert out[0].shape == x.shape and out[1].shape == y.shape
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16).map(mix)
    first = next(iter(ds))[1].numpy()
    second = next(iter(ds))[1].numpy()
    assert first.shape == y.shape
    assert not np.allclose(first, second)  # the seed generator advances across passes


def test_config_round_trip_and_bad_alpha():
    mix = MixUp(alpha=0.4, seed=7)
    rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(mix))
    assert isinstance(rebuilt, MixUp) and rebuilt.get_config() == mix.get_config()
    for bad in (0.0, -1.0, "a"):
        with pytest.raises(ValueError, match="alpha"):
            MixUp(alpha=bad)


def replica_mixup(strategy):
    from deeprob_keras.augment import CutMix, MixUp

    x, y = _batch(8)
    results = {}
    for name, aug in (("mixup", MixUp(alpha=1.0, seed=0)), ("cutmix", CutMix(alpha=1.0, seed=0))):
        # 1. mapped in the input pipeline, then distributed.
        ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8).map(aug)
        dist = strategy.experimental_distribute_dataset(ds)
        batch = next(iter(dist))
        sums = [float(t.numpy().sum()) for t in strategy.experimental_local_results(batch[1])]
        # 2. applied inside strategy.run on the per-replica batches.
        plain = strategy.experimental_distribute_dataset(
            tf.data.Dataset.from_tensor_slices((x, y)).batch(8))

        @tf.function
        def step(images, labels):
            return strategy.run(aug, args=(images, labels))

        out = step(*next(iter(plain)))
        run_sums = [float(t.numpy().sum()) for t in strategy.experimental_local_results(out[1])]
        shapes = [list(t.shape) for t in strategy.experimental_local_results(out[0])]
        results[name] = {"map": sums, "run": run_sums, "shapes": shapes}
    return results


def test_two_replicas():
    res = run_in_two_replicas("tests.augment.test_mixup:replica_mixup")
    for name in ("mixup", "cutmix"):
        # each replica gets 4 examples whose mixed labels still sum to 1 each
        np.testing.assert_allclose(res[name]["map"], [4.0, 4.0], rtol=1e-5)
        np.testing.assert_allclose(res[name]["run"], [4.0, 4.0], rtol=1e-5)
        assert res[name]["shapes"] == [[4, 5, 5, 3], [4, 5, 5, 3]]
