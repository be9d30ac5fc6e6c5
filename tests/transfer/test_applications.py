"""The keras.applications path, offline: weights=None plus a saved weights file."""

import numpy as np
import pytest

from deeprob_keras.transfer import adapt_images, build_transfer_model, get_backbone
from tests.transfer.helpers import transfer_recipe


def test_mobilenet_v3_small_loads_a_weights_file(tmp_path):
    import keras

    source = keras.applications.MobileNetV3Small(include_top=False, weights=None, input_shape=(32, 32, 3),
                                                 pooling="avg")
    weights = tmp_path / "mnv3.weights.h5"
    source.save_weights(weights)
    recipe = transfer_recipe("MobileNetV3Small", weights=str(weights), mode="feature_extraction")
    model = build_transfer_model(recipe, (28, 28, 1), 5)
    backbone = get_backbone(model)
    for got, want in zip(backbone.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert model.get_layer("adapter").get_config()["size"] == (32, 32)
    assert model.output_shape == (None, 5)
    images = np.random.default_rng(0).uniform(size=(2, 28, 28, 1)).astype("float32")
    # the model equals: adapt (32x32, RGB, x255) -> source -> head
    features = source(adapt_images(images, (32, 32), 3, "raw255"), training=False)
    head = model.get_layer("classifier")
    np.testing.assert_allclose(model(images, training=False), head(features), atol=1e-5)


def test_weights_file_must_exist():
    with pytest.raises(FileNotFoundError, match="transfer.weights"):
        build_transfer_model(transfer_recipe("MobileNetV3Small", weights="missing.weights.h5"), (28, 28, 1), 5)


def test_adapter_scalings_match_their_formulas():
    x = np.full((1, 2, 2, 3), 0.5, dtype="float32")
    np.testing.assert_allclose(adapt_images(x, scaling="tf"), 0.0)
    np.testing.assert_allclose(adapt_images(x, scaling="raw255"), 127.5)
    caffe = np.asarray(adapt_images(x, scaling="caffe"))[0, 0, 0]
    np.testing.assert_allclose(caffe, [127.5 - 103.939, 127.5 - 116.779, 127.5 - 123.68], rtol=1e-5)
    gray = np.zeros((1, 4, 4, 1), dtype="float32")
    assert tuple(adapt_images(gray, (8, 8), 3).shape) == (1, 8, 8, 3)
