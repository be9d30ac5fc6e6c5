"""model.first_stage_blocks: the first stage's residual blocks, counted apart from the other stages."""

import numpy as np
import pytest

import keras

from deeprob_keras.models.flops import training_flops_per_example
from deeprob_keras.models.small_resnet import small_resnet, stage_blocks
from deeprob_keras.recipe import RecipeError, recipe_from_dict
from deeprob_keras.recipe.schema import ModelSpec


def _blocks(model, stage):
    return sorted({layer.name.split("_")[1] for layer in model.layers if layer.name.startswith(f"stage{stage}_block")})


def test_stage_blocks_counts():
    assert [stage_blocks(ModelSpec(widths=[8, 16, 32]), s) for s in range(3)] == [1, 1, 1]
    spec = ModelSpec(widths=[8, 16, 32], blocks_per_stage=2, first_stage_blocks=0)
    assert [stage_blocks(spec, s) for s in range(3)] == [0, 2, 2]


def test_zero_first_stage_blocks_leaves_the_stem_as_the_first_stage():
    keras.utils.set_random_seed(0)
    lean = small_resnet((28, 28, 1), 10, ModelSpec(widths=[16, 64, 128], first_stage_blocks=0))
    full = small_resnet((28, 28, 1), 10, ModelSpec(widths=[16, 64, 128]))
    assert _blocks(lean, 0) == [] and _blocks(full, 0) == ["block0"]
    assert _blocks(lean, 1) == ["block0"] and _blocks(lean, 2) == ["block0"]
    # stage0 is the stem's output: the transfer cut points keep their names.
    assert lean.get_layer("stage0").output.shape == lean.get_layer("stem_relu").output.shape == (None, 28, 28, 16)
    assert lean.get_layer("stage1").output.shape == (None, 14, 14, 64)
    # The block removed is two 3x3 convolutions of 16 -> 16 channels at 28x28 (and their BatchNorms):
    # 2 x 9 x 16 x 16 weights; 2 x 28 x 28 x 9 x 16 x 16 multiply-adds, x 2 FLOPs, x 3 forward + backward.
    assert full.count_params() - lean.count_params() == 2 * 9 * 16 * 16 + 2 * 4 * 16
    assert training_flops_per_example(full) - training_flops_per_example(lean) == 3 * 2 * 2 * 28 * 28 * 9 * 16 * 16
    images = np.random.default_rng(0).uniform(size=(2, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(lean(images)).sum(axis=1), 1.0, rtol=1e-5)


def test_more_first_stage_blocks_than_the_others():
    model = small_resnet((28, 28, 1), 10, ModelSpec(widths=[8, 16], first_stage_blocks=2))
    assert _blocks(model, 0) == ["block0", "block1"] and _blocks(model, 1) == ["block0"]


def test_stochastic_depth_spans_the_blocks_that_exist():
    # Linear decay to the deepest block: with the first stage's block gone the deepest of 2 blocks gets 0.2.
    model = small_resnet((28, 28, 1), 10, ModelSpec(widths=[8, 16, 32], first_stage_blocks=0, stochastic_depth=0.2))
    rates = [layer.rate for layer in model.layers if layer.name.endswith("drop_path")]
    np.testing.assert_allclose(rates, [0.1, 0.2])


@pytest.mark.parametrize("model, message", [
    ({"first_stage_blocks": -1}, "first_stage_blocks"),
    ({"first_stage_blocks": 17}, "first_stage_blocks"),
    ({"name": "mlp", "widths": [32], "first_stage_blocks": 0}, "needs model.name: small_resnet"),
])
def test_bad_first_stage_blocks_are_refused(model, message):
    with pytest.raises(RecipeError, match=message):
        recipe_from_dict({"model": model})
