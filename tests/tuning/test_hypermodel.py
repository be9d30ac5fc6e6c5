"""RecipeHyperModel (the one hypermodel of the doctor and the TFX Tuner): its trials' recipes
and data, without training (the doctor's search test trains it through KerasTuner)."""

import types

import keras_tuner
import numpy as np
import pytest

from deeprob_keras.recipe import Recipe, SearchParam, with_overrides
from deeprob_keras.tuning.hypermodel import RecipeHyperModel

LR = SearchParam(name="optimizer.learning_rate", kind="float", min=1e-3, max=1e-1, sampling="log")


def _data_fn(reads):
    def data_fn(recipe, global_batch_size, image_fn=None, batch_fn=None):
        reads.append((recipe.training.batch_size, global_batch_size, recipe.seed, image_fn is not None))
        return types.SimpleNamespace(num_classes=10, train_arrays=(np.zeros((4, 28, 28, 1), "uint8"),))
    return data_fn


def test_an_empty_search_space_is_refused():
    with pytest.raises(ValueError, match="Expected a non-empty search space"):
        RecipeHyperModel(Recipe())


def test_epochs_shorten_the_recipe_and_the_space_defaults_to_the_recipes():
    recipe = with_overrides(Recipe(), {"training.epochs": 20})
    model = RecipeHyperModel(recipe, [LR], epochs=2)
    assert model.recipe.training.epochs == 2 and model.search_space == [LR]
    assert RecipeHyperModel(recipe, [LR]).recipe is recipe


def test_shared_datasets_serve_trials_whose_data_knobs_match():
    recipe = with_overrides(Recipe(), {"seed": 7, "augmentation.flip": True, "training.batch_size": 32})
    shared, reads = object(), []
    model = RecipeHyperModel(recipe, [LR], datasets=shared, data_fn=_data_fn(reads))
    assert model.trial_datasets(with_overrides(recipe, {"optimizer.learning_rate": 0.02}), 1) is shared
    assert reads == []
    # a trial with another batch size loads its own, augmented and seeded, batched over the replicas
    model.trial_datasets(with_overrides(recipe, {"training.batch_size": 64}), replicas=2)
    assert reads == [(64, 128, 7, False), (64, 128, 7, True)]


def test_build_samples_into_the_recipe(monkeypatch):
    import deeprob_keras.tuning.hypermodel as hm

    built = []
    monkeypatch.setattr(hm, "build_compiled_model", lambda recipe, data, strategy, plan: (
        built.append((recipe.optimizer.learning_rate, plan.epochs)) or "model", plan.steps_per_epoch))
    data = types.SimpleNamespace(num_examples={"train": 320})
    model = RecipeHyperModel(Recipe(), [LR], datasets=data, epochs=1)
    hp = keras_tuner.HyperParameters()
    assert model.build(hp) == "model"
    assert built == [(hp.values["optimizer.learning_rate"], 1)]
    assert 1e-3 <= built[0][0] <= 1e-1
