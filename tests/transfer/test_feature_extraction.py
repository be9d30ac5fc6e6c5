"""Feature extraction: the backbone does not move, the new head does and has the target's classes."""

import keras
import numpy as np
import tensorflow as tf

from deeprob_keras.transfer import build_transfer_model, get_backbone
from tests.transfer.helpers import compile_and_fit, transfer_recipe


def test_frozen_backbone_is_unchanged_after_fit_and_head_learns(pretrained_path, target_data):
    recipe = transfer_recipe(pretrained_path, mode="feature_extraction")
    model = compile_and_fit(recipe, target_data)
    backbone = get_backbone(model)
    assert backbone.trainable_weights == []
    # every backbone weight, BatchNorm moving statistics included, equals the saved source model's
    source = keras.saving.load_model(pretrained_path)
    for layer in backbone.layers:
        for got, want in zip(layer.get_weights(), source.get_layer(layer.name).get_weights()):
            np.testing.assert_array_equal(got, want, err_msg=layer.name)
    head = model.get_layer("classifier")
    assert head.units == 5 and target_data.num_classes == 5
    assert not np.allclose(head.kernel.numpy(), model._initial_head)


def test_head_is_new_with_the_targets_classes(pretrained_path):
    model = build_transfer_model(transfer_recipe(pretrained_path, mode="feature_extraction", head_hidden=12),
                                 (28, 28, 1), num_classes=3)
    assert model.output_shape == (None, 3)
    assert model.get_layer("head_hidden").units == 12
    trainable = {v.path.split("/")[0] for v in model.trainable_weights}
    assert trainable == {"head_hidden", "classifier"}
    probs = model(tf.random.uniform((4, 28, 28, 1)), training=False).numpy()
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)
