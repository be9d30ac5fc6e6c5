"""MCAverage: fractional max pooling's test-time averaging of K random-region passes, in the recipe
and in the served model."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.layers import FractionalMaxPooling2D, MCAverage, stochastic_inference
from deeprob_keras.models import build_model
from deeprob_keras.recipe import Recipe, with_overrides
from deeprob_keras.training.export import export_saved_model
from deeprob_keras.training.run import _final_model


def _fmp_model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((9, 9, 2))
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    h = FractionalMaxPooling2D(pooling_ratio=1.5, seed=3, name="fmp")(h)
    h = keras.layers.Flatten()(h)  # position-dependent: the regions change the output
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))


def _x(b=4):
    return np.random.default_rng(0).uniform(size=(b, 9, 9, 2)).astype("float32")


def _generators(model):
    return [layer.seed_generator for layer in model._flatten_layers() if isinstance(layer, FractionalMaxPooling2D)]


def test_k1_is_the_plain_deterministic_model():
    model, x = _fmp_model(), _x()
    plain = np.asarray(model(x, training=False))
    wrapped = MCAverage(model, num_samples=1)
    np.testing.assert_array_equal(np.asarray(wrapped(x)), plain)
    np.testing.assert_array_equal(np.asarray(wrapped(x)), plain)


def test_k_passes_are_averaged_exactly():
    """Same seed-generator state: the wrapper's output = mean of K stochastic passes run by hand."""
    model, x, k = _fmp_model(), _x(), 5
    wrapped = MCAverage(model, num_samples=k)
    gens = _generators(model)
    saved = [np.array(g.state) for g in gens]
    out = np.asarray(wrapped(x))
    for g, s in zip(gens, saved):
        g.state.assign(s)
    with stochastic_inference(model, True):
        passes = [np.asarray(model(x, training=False)) for _ in range(k)]
    np.testing.assert_allclose(out, np.mean(passes, axis=0), rtol=1e-6, atol=1e-7)
    assert np.std(passes, axis=0).max() > 1e-3  # the passes did differ
    assert not any(layer.stochastic_inference for layer in model._flatten_layers()
                   if isinstance(layer, FractionalMaxPooling2D))  # restored after the call


def _single_pass_moments(model, x, n=300):
    with stochastic_inference(model, True):
        p = np.stack([np.asarray(model(x, training=False)) for _ in range(n)])
    return p.mean(0), p.var(0)


def test_mean_of_k_has_the_single_pass_mean_and_a_k_times_smaller_variance():
    model, x, k = _fmp_model(), _x(2), 6
    mu, var1 = _single_pass_moments(model, x)
    predict = tf.function(MCAverage(model, num_samples=k).__call__)  # traced: the draws live in the graph
    outs = np.stack([predict(tf.constant(x)).numpy() for _ in range(300)])
    mask = var1 > 1e-6
    assert mask.sum() >= 3
    np.testing.assert_allclose(outs.mean(0)[mask], mu[mask], atol=4 * np.sqrt(var1[mask].max() / 300) + 1e-4)
    ratio = outs.var(0)[mask] / var1[mask]
    assert 0.6 / k < np.median(ratio) < 1.6 / k, (np.median(ratio), 1 / k)


def _recipe(k):
    return with_overrides(Recipe(), {"model.widths": [4, 8], "model.pooling": "fractional_max",
                                     "model.fractional_pooling_test_samples": k})


def test_recipe_wraps_the_final_model_and_serving_averages(tmp_path):
    recipe = _recipe(8)
    keras.utils.set_random_seed(0)
    model = build_model(recipe, (12, 12, 1), 3)
    final = _final_model(recipe, [model], [])
    assert isinstance(final, MCAverage) and final.num_samples == 8
    plain = _final_model(_recipe(1), [model], [])
    assert plain is model
    x = np.random.default_rng(1).uniform(size=(3, 12, 12, 1)).astype("float32")
    path = export_saved_model(final, str(tmp_path / "serving" / "1"), raw_image_shape=(12, 12, 1),
                              input_shape=(12, 12, 1))
    served = tf.saved_model.load(path)
    serve = served.signatures["serving_images"]
    outs = np.stack([serve(images=tf.constant(x))["probabilities"].numpy() for _ in range(40)])
    assert np.ptp(outs, axis=0).max() > 1e-4  # each request draws new regions
    np.testing.assert_allclose(outs.sum(-1), 1.0, atol=1e-5)
    mu, var1 = _single_pass_moments(model, x, n=200)
    mask = var1 > 1e-8
    assert 0.6 / 8 < np.median(outs.var(0)[mask] / var1[mask]) < 1.8 / 8
    np.testing.assert_allclose(outs.mean(0), mu, atol=4 * np.sqrt(var1.max() / 40) + 1e-4)


def test_keras_file_round_trip(tmp_path):
    wrapped = MCAverage(_fmp_model(), num_samples=3)
    wrapped(_x())
    path = str(tmp_path / "m.keras")
    wrapped.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, MCAverage) and loaded.num_samples == 3
    one = MCAverage(loaded.base_model, num_samples=1)
    np.testing.assert_allclose(np.asarray(one(_x())), np.asarray(wrapped.base_model(_x())), atol=1e-6)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_num_samples(bad):
    with pytest.raises(ValueError, match="num_samples"):
        MCAverage(_fmp_model(), num_samples=bad)


def test_recipe_refuses_samples_without_fractional_pooling():
    with pytest.raises(ValueError, match="fractional_max"):
        with_overrides(Recipe(), {"model.fractional_pooling_test_samples": 4})
    assert Recipe().model.fractional_pooling_test_samples == 1


def test_multi_worker_loop_refuses_it_rather_than_ignoring_it():
    from deeprob_keras.training.multi_worker import _check_supported

    with pytest.raises(Exception, match="fractional_pooling_test_samples"):
        _check_supported(_recipe(4))
    _check_supported(_recipe(1))
