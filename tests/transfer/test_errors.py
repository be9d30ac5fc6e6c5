"""Bad inputs give errors that name the problem."""

import pytest

from deeprob_keras.recipe import RecipeError, recipe_from_dict
from deeprob_keras.transfer import build_transfer_model, set_fine_tune_layers
from tests.transfer.helpers import transfer_recipe


def test_missing_cut_point_names_it_and_lists_the_layers(pretrained_path):
    with pytest.raises(ValueError, match=r"no layer named 'stage7'.*Available layers: .*stage0.*features"):
        build_transfer_model(transfer_recipe(pretrained_path, cut_layer="stage7"), (28, 28, 1), 5)


def test_missing_freeze_until_layer(pretrained_path):
    with pytest.raises(ValueError, match=r"freeze_until: no layer named 'stage9'.*Available layers"):
        build_transfer_model(transfer_recipe(pretrained_path, mode="fine_tune", freeze_until="stage9"), (28, 28, 1), 5)


def test_freeze_fraction_out_of_range():
    with pytest.raises(RecipeError, match=r"transfer\.freeze_fraction: expected a value in \[0\.0, 1\.0\]\. Received: 1\.5"):
        transfer_recipe("x.keras", freeze_fraction=1.5)
    import keras

    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ValueError, match=r"freeze_fraction between 0 and 1\. Received: freeze_fraction=1\.5"):
        set_fine_tune_layers(model, freeze_fraction=1.5)


def test_one_class_target(pretrained_path):
    with pytest.raises(ValueError, match=r"at least 2 classes\. Received: num_classes=1"):
        build_transfer_model(transfer_recipe(pretrained_path), (28, 28, 1), 1)
    with pytest.raises(RecipeError, match=r"data.classes must keep at least 2 classes"):
        transfer_recipe("x.keras", data={"dataset": "fashion_mnist", "classes": [3]})


def test_recipe_section_consistency():
    with pytest.raises(RecipeError, match="needs transfer.backbone"):
        recipe_from_dict({"model": {"name": "backbone"}})
    with pytest.raises(RecipeError, match="needs model.name: backbone"):
        recipe_from_dict({"transfer": {"backbone": "x.keras"}})
    with pytest.raises(RecipeError, match="not both"):
        transfer_recipe("x.keras", freeze_fraction=0.5, freeze_until="stage0")


def test_missing_backbone_file_and_unknown_application():
    with pytest.raises(FileNotFoundError, match="pretrain_fashion_0_4"):
        build_transfer_model(transfer_recipe("runs/nowhere/model.keras"), (28, 28, 1), 5)
    with pytest.raises(ValueError, match=r"'MobileNetV9' is neither a .keras path nor a keras.applications name"):
        build_transfer_model(transfer_recipe("MobileNetV9"), (28, 28, 1), 5)
