"""embedding_model / compute_embeddings against NumPy: pooling, flattening, L2 normalization, tf.data batching."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.retrieval import (UnknownLayer, compute_embeddings, embedding_model, l2_normalize, pixel_vectors,
                                     pooled_features_layer)
from tests.retrieval.helpers import tiny_model


def unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def model_and_images():
    model = tiny_model()
    images = np.random.default_rng(0).integers(0, 256, size=(37, 8, 8, 1)).astype(np.uint8)
    return model, images


def activations(model, layer, x):
    return keras.Model(model.input, model.get_layer(layer).output)(x, training=False).numpy()


def test_pooled_features_avg_pooled_stage_and_flattened_stage(model_and_images):
    model, images = model_and_images
    x = images.astype(np.float32) / 255.0
    assert pooled_features_layer(model) == "features"
    np.testing.assert_allclose(embedding_model(model)(x).numpy(), unit(activations(model, "features", x)), atol=1e-6)
    stage1 = activations(model, "stage1", x)  # (B, 4, 4, 6)
    np.testing.assert_allclose(embedding_model(model, "stage1")(x).numpy(), unit(stage1.mean(axis=(1, 2))), atol=1e-6)
    flat = embedding_model(model, "stage1", spatial="flatten")(x).numpy()
    assert flat.shape == (37, 4 * 4 * 6)
    np.testing.assert_allclose(flat, unit(stage1.reshape(37, -1)), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(flat, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 5, 37, 100])
def test_compute_embeddings_batches_through_tf_data(model_and_images, batch_size):
    model, images = model_and_images
    embed = embedding_model(model, "stage0")
    want = embed(images.astype(np.float32) / 255.0).numpy()
    got = compute_embeddings(embed, images, batch_size=batch_size)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-6)
    ds = tf.data.Dataset.from_tensor_slices((images, np.zeros(37))).batch(8)  # (images, labels) batches
    np.testing.assert_allclose(compute_embeddings(embed, ds), want, atol=1e-6)


def test_unknown_layer_lists_names_and_suggests():
    model = tiny_model()
    with pytest.raises(UnknownLayer, match=r"Did you mean 'stage1'.*Available layers: images, stem_conv, stage0"):
        embedding_model(model, "stage_1")
    with pytest.raises(UnknownLayer) as info:
        embedding_model(model, "zzz")
    assert "Did you mean" not in str(info.value) and "classifier" in str(info.value)
    with pytest.raises(ValueError, match="spatial"):
        embedding_model(model, "stage1", spatial="max")
    headless = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="out")])
    assert pooled_features_layer(headless) is None


def test_l2_normalize_and_pixels():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], np.float32)
    np.testing.assert_allclose(l2_normalize(x).numpy(), [[0.6, 0.8], [0.0, 0.0]])
    pixels = pixel_vectors(np.full((2, 2, 2, 1), 255, np.uint8))
    assert pixels.shape == (2, 4) and np.all(pixels == 1.0)
