"""The exported SavedModel has an `embeddings` signature beside `serving_default`: the model's pooled
features, L2-normalized."""

import keras
import numpy as np
import tensorflow as tf

from deeprob_keras.data import encode_example
from deeprob_keras.training import export_saved_model
from tests.retrieval.helpers import tiny_model


def test_embeddings_signature_matches_pooled_features(tmp_path):
    model = tiny_model()
    images = np.random.default_rng(1).integers(0, 256, size=(6, 8, 8, 1)).astype(np.uint8)
    x = images.astype(np.float32) / 255.0
    features = keras.Model(model.input, model.get_layer("features").output)(x, training=False).numpy()
    want = features / np.linalg.norm(features, axis=1, keepdims=True)

    path = export_saved_model(model, str(tmp_path / "serving" / "1"), raw_image_shape=(8, 8, 1))
    loaded = tf.saved_model.load(path)
    assert {"serving_default", "serving_images", "embeddings"} == set(loaded.signatures)
    examples = tf.constant([encode_example(img, 0) for img in images])
    out = loaded.signatures["embeddings"](examples=examples)
    assert set(out) == {"embeddings"}
    np.testing.assert_allclose(out["embeddings"].numpy(), want, atol=1e-5)
    # the classifier signature is unchanged
    np.testing.assert_allclose(loaded.signatures["serving_default"](examples=examples)["probabilities"].numpy(),
                               model(x, training=False).numpy(), atol=1e-5)


def test_model_without_pooled_features_exports_without_the_signature(tmp_path):
    inputs = keras.Input((8, 8, 1))
    outputs = keras.layers.Dense(3, activation="softmax", name="head")(keras.layers.Flatten(name="flat")(inputs))
    path = export_saved_model(keras.Model(inputs, outputs), str(tmp_path / "1"), raw_image_shape=(8, 8, 1))
    assert set(tf.saved_model.load(path).signatures) == {"serving_default", "serving_images"}
