"""Fine-tuning: top trainable, bottom frozen, BatchNorm statistics kept, learning rate = factor x original."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.training import build_compiled_model
from deeprob_keras.transfer import build_transfer_model, get_backbone, set_fine_tune_layers, weighted_layers
from deeprob_keras.transfer.fine_tuning import frozen_count
from tests.transfer.helpers import bn_layers, compile_and_fit, transfer_recipe


def _moving_stats(model):
    return {layer.name: (layer.moving_mean.numpy().copy(), layer.moving_variance.numpy().copy())
            for layer in bn_layers(get_backbone(model))}


def _kernel(model, name):
    return get_backbone(model).get_layer(name).kernel.numpy().copy()


def test_bn_inference_keeps_moving_statistics_while_top_layers_learn(pretrained_path, target_data):
    recipe = transfer_recipe(pretrained_path, mode="fine_tune", freeze_until="stage0")
    model = build_transfer_model(recipe, target_data.image_shape, target_data.num_classes)
    before_stats = _moving_stats(model)
    before_top, before_bottom = _kernel(model, "stage1_block0_a_conv"), _kernel(model, "stage0_block0_a_conv")
    del model
    model = compile_and_fit(recipe, target_data)
    for name, (mean, var) in _moving_stats(model).items():
        np.testing.assert_array_equal(mean, before_stats[name][0], err_msg=name)
        np.testing.assert_array_equal(var, before_stats[name][1], err_msg=name)
    assert not np.allclose(_kernel(model, "stage1_block0_a_conv"), before_top)  # fine-tuned
    np.testing.assert_array_equal(_kernel(model, "stage0_block0_a_conv"), before_bottom)  # frozen
    # gamma of a trainable BatchNorm still learns
    assert get_backbone(model).get_layer("stage1_block0_a_bn").gamma.trainable


def test_without_bn_inference_the_moving_statistics_move(pretrained_path, target_data):
    """The contrast: a trainable BatchNorm called in training mode updates its statistics."""
    recipe = transfer_recipe(pretrained_path, mode="fine_tune", freeze_until="stage0", bn_inference=False)
    model = build_transfer_model(recipe, target_data.image_shape, target_data.num_classes)
    before = _moving_stats(model)["stage1_block0_a_bn"][0]
    model = compile_and_fit(recipe, target_data)
    assert not np.allclose(_moving_stats(model)["stage1_block0_a_bn"][0], before)


def test_fine_tuning_learning_rate_is_factor_times_original(pretrained_path, target_data):
    strategy = tf.distribute.get_strategy()
    for mode, factor, want in (("fine_tune", 0.1, 0.005), ("fine_tune", 0.5, 0.025), ("feature_extraction", 0.1, 0.05)):
        recipe = transfer_recipe(pretrained_path, mode=mode, lr_factor=factor)
        model, _ = build_compiled_model(recipe, target_data, strategy, 64)
        lr = model.optimizer.learning_rate
        lr = lr(0) if callable(lr) else lr
        assert float(keras.ops.convert_to_numpy(lr)) == pytest.approx(want), (mode, factor)


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 1.0])
def test_freeze_fraction_freezes_that_share_from_the_bottom(pretrained_path, fraction):
    model = build_transfer_model(transfer_recipe(pretrained_path, mode="fine_tune", freeze_fraction=fraction),
                                 (28, 28, 1), 5)
    layers = weighted_layers(get_backbone(model))
    flags = [layer.trainable for layer in layers]
    n_frozen = frozen_count(len(layers), fraction)
    assert flags == [False] * n_frozen + [True] * (len(layers) - n_frozen)
    assert n_frozen == round(fraction * len(layers))


def test_freeze_until_names_the_last_frozen_layer(pretrained_path):
    backbone = keras.saving.load_model(pretrained_path)
    frozen, trainable = set_fine_tune_layers(backbone, freeze_until="stage0")
    assert all(not n.startswith("stage1") for n in frozen) and "stem_conv" in frozen
    assert trainable and all(n.startswith(("stage1", "classifier")) for n in trainable)
