import pytest

from deeprob_keras.recipe import Recipe, RecipeError, load_recipe, recipe_from_dict, save_recipe, with_overrides


def test_default_recipe_loads_typed():
    recipe = load_recipe("recipes/fashion_mnist.yaml")
    assert isinstance(recipe, Recipe)
    assert recipe.model.name == "small_resnet" and recipe.model.batch_norm
    assert recipe.optimizer.name == "sgd" and recipe.optimizer.nesterov
    assert recipe.schedule.name == "cosine"
    assert isinstance(recipe.optimizer.learning_rate, float)


def test_round_trip_through_yaml(tmp_path):
    recipe = load_recipe("recipes/fashion_mnist.yaml")
    path = save_recipe(recipe, str(tmp_path / "r.yaml"))
    assert load_recipe(path) == recipe


@pytest.mark.parametrize("data, message", [
    ({"optimizr": {}}, r"unknown key 'optimizr'\. Did you mean 'optimizer'\?"),
    ({"optimizer": {"learning_rte": 0.1}}, r"recipe\.optimizer: unknown key 'learning_rte'\. Did you mean 'learning_rate'\?"),
    ({"training": {"epochs": "ten"}}, r"recipe\.training\.epochs: expected an integer\. Received: 'ten'"),
    ({"training": {"epochs": 2.5}}, r"recipe\.training\.epochs: expected an integer"),
    ({"optimizer": {"learning_rate": -0.1}}, r"recipe\.optimizer\.learning_rate: expected a value in \(0\.0, inf\]\. Received: -0\.1"),
    ({"optimizer": {"momentum": 1.5}}, r"recipe\.optimizer\.momentum: expected a value in \[0\.0, 1\.0\)"),
    ({"optimizer": {"name": "sgdd"}}, r"expected one of .*Received: 'sgdd'\. Did you mean 'sgd'\?"),
    ({"schedule": {"name": "cosin"}}, r"Did you mean 'cosine'\?"),
    ({"model": {"widths": [16, "x"]}}, r"recipe\.model\.widths\[1\]: expected an integer"),
    ({"model": {"batch_norm": "yes"}}, r"expected true or false"),
    ({"regularization": {"label_smoothing": 1.0}}, r"label_smoothing: expected a value in \[0\.0, 1\.0\)"),
    ({"data": "fashion"}, r"recipe\.data: expected a mapping"),
    ({"augmentation": {"scale_min": 28, "scale_max": 32, "crop_size": 30}}, r"crop_size must be <= scale_min"),
    ({"augmentation": {"scale_min": 28}}, r"needs scale_min, scale_max and crop_size together"),
    ({"callbacks": {"snapshots": True}}, r"snapshots needs schedule\.name: cosine_restarts"),
    ({"data": {"validation_fraction": 0.6}}, r"recipe\.data\.validation_fraction: expected a value in \[0\.0, 0\.5\)"),
    ({"data": {"limit_examples": 0}}, r"recipe\.data\.limit_examples: expected a value in \[1, inf\]"),
    ({"data": {"classes": [-1]}}, r"recipe\.data\.classes: expected a value in \[0, inf\]"),
    ({"data": {"image_size": 4}}, r"recipe\.data\.image_size: expected a value in \[8, 1024\]"),
    ({"data": {"channels": 2}}, r"recipe\.data\.channels: expected one of \[1, 3\]"),
    ({"model": {"head": "conv"}}, r"recipe\.model\.head: expected one of \['dense', 'dropconnect'\]"),
    ({"model": {"stochastic_depth": 1.0}}, r"recipe\.model\.stochastic_depth: expected a value in \[0\.0, 1\.0\)"),
    ({"model": {"fractional_pooling_ratio": 2.5}}, r"fractional_pooling_ratio: expected a value in \(1\.0, 2\.0\]"),
    ({"model": {"blocks_per_stage": 0}}, r"recipe\.model\.blocks_per_stage: expected a value in \[1, 16\]"),
    ({"optimizer": {"weight_decay": -1}}, r"recipe\.optimizer\.weight_decay: expected a value in \[0\.0, inf\]"),
    ({"optimizer": {"ema_momentum": 1.0}}, r"recipe\.optimizer\.ema_momentum: expected a value in \[0\.0, 1\.0\)"),
    ({"schedule": {"gamma": 0}}, r"recipe\.schedule\.gamma: expected a value in \(0\.0, inf\]"),
    ({"schedule": {"cycle_epochs": 0}}, r"recipe\.schedule\.cycle_epochs: expected a value in \(0\.0, inf\]"),
    ({"regularization": {"penalty": "l3"}}, r"recipe\.regularization\.penalty: expected one of .*Received: 'l3'"),
    ({"regularization": {"l2": -0.1}}, r"recipe\.regularization\.l2: expected a value in \[0\.0, inf\]"),
    ({"augmentation": {"random_erasing": 1.5}}, r"recipe\.augmentation\.random_erasing: expected a value in \[0\.0, 1\.0\]"),
    ({"augmentation": {"erasing_fill": "noise"}}, r"recipe\.augmentation\.erasing_fill: expected one of \['zero', 'mean', 'random'\]"),
    ({"augmentation": {"mixup_alpha": -1}}, r"recipe\.augmentation\.mixup_alpha: expected a value in \[0\.0, inf\]"),
    ({"augmentation": {"scale_min": 32, "scale_max": 28, "crop_size": 28}}, r"scale_min must be <= scale_max"),
    ({"training": {"batch_size": 0}}, r"recipe\.training\.batch_size: expected a value in \[1, inf\]"),
    ({"callbacks": {"monitor": "val_acc"}}, r"recipe\.callbacks\.monitor: expected one of .*Did you mean 'val_accuracy'\?"),
    ({"seed": -1}, r"recipe\.seed: expected a value in \[0, inf\]"),
    ({"search_space": [{"name": "optimizer.learning_rate", "kind": "bool"}]}, r"recipe\.search_space\[0\]\.kind: expected one of"),
    ({"search_space": {"lr": 1}}, r"recipe\.search_space: expected list of SearchParam"),
    ([1, 2], r"recipe: expected a mapping"),
    ({"training": {"progressive_resize_min": 16}}, r"needs training\.progressive_resize_min and "
                                                   r"training\.progressive_resize_epochs >= 1 together"),
    ({"training": {"progressive_resize_epochs": 5}}, r"progressive_resize_min=None, progressive_resize_epochs=5"),
    ({"training": {"progressive_resize_min": 0, "progressive_resize_epochs": 5}},
     r"recipe\.training\.progressive_resize_min: expected a value in \[1, inf\]"),
    ({"training": {"progressive_resize_min": 29, "progressive_resize_epochs": 5}},
     r"progressive_resize_min must be <= the image side \(28 for data\.dataset='fashion_mnist'\)"),
    ({"model": {"name": "mlp"}, "training": {"progressive_resize_min": 16, "progressive_resize_epochs": 5}},
     r"progressive_resize_min needs model\.name: small_resnet"),
])
def test_bad_recipes_name_the_key_and_value(data, message):
    with pytest.raises(RecipeError, match=message):
        recipe_from_dict(data)


def test_yaml_scientific_notation_without_dot_is_a_number():
    recipe = recipe_from_dict({"optimizer": {"learning_rate": "1e-3"}})
    assert recipe.optimizer.learning_rate == pytest.approx(1e-3)


def test_overrides():
    recipe = with_overrides(Recipe(), {"training.epochs": 3, "data.limit_examples": 100})
    assert recipe.training.epochs == 3 and recipe.data.limit_examples == 100
    with pytest.raises(RecipeError, match="unknown key 'epoch'"):
        with_overrides(Recipe(), {"training.epoch": 3})


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(RecipeError, match="recipe file not found"):
        load_recipe(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("training: [unclosed\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(str(bad))
