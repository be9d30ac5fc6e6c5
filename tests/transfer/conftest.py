"""A tiny pretrained backbone (Fashion-MNIST classes 0-4, 320 images, 1 epoch), shared by the transfer tests."""

import pytest

from tests.transfer.helpers import TINY_MODEL, transfer_recipe


@pytest.fixture(scope="session")
def pretrained_path(tmp_path_factory):
    import keras
    import tensorflow as tf

    from deeprob_keras.recipe import recipe_from_dict
    from deeprob_keras.training import build_compiled_model, load_recipe_datasets

    recipe = recipe_from_dict({
        "data": {"dataset": "fashion_mnist", "classes": [0, 1, 2, 3, 4], "limit_examples": 320,
                 "validation_fraction": 0.02},
        "model": TINY_MODEL, "schedule": {"name": "constant"}, "training": {"epochs": 1, "batch_size": 64}})
    keras.utils.set_random_seed(0)
    data = load_recipe_datasets(recipe, 64)
    model, _ = build_compiled_model(recipe, data, tf.distribute.get_strategy(), 64)
    model.fit(data.train, epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("pretrained") / "model.keras"
    model.save(path)
    return str(path)


@pytest.fixture(scope="session")
def target_data():
    from deeprob_keras.training import load_recipe_datasets

    return load_recipe_datasets(transfer_recipe("unused.keras"), 64)
