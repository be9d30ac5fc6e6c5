import pytest

from deeprob_keras.doctor import _harness
from deeprob_keras.recipe import Recipe, with_overrides


@pytest.fixture(scope="session")
def tiny_recipe():
    """Fashion-MNIST, 1,000 examples, a [8, 16] ResNet, batch 32."""
    return with_overrides(Recipe(), {
        "name": "tiny", "data.limit_examples": 1000, "data.validation_fraction": 0.02, "model.widths": [8, 16], "training.batch_size": 32,
        "training.epochs": 2, "schedule.warmup_epochs": 0.0, "regularization.penalty": "l2",
        "regularization.l2": 1e-4})


@pytest.fixture(scope="session")
def tiny_data(tiny_recipe):
    return _harness.load_plain_datasets(tiny_recipe)
