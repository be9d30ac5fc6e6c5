"""The TFX Trainer's and Tuner's data go through the library's one augmentation set-up
(`load_augmented_datasets`), which seeds the augmentation with `recipe.seed` (the
pipeline's own copy once dropped it). Unit tests: the TFRecord reader is replaced by a
recorder, no pipeline runs."""

import dataclasses
import types

import keras_tuner
import numpy as np
import pytest

from deeprob_keras.recipe import Recipe, SearchParam, with_overrides
from deeprob_keras.recipe.validation import to_dict
from deeprob_keras.training import run
from deeprob_keras.tuning import hypermodel as hypermodel_module
from deeprob_keras.tuning.hypermodel import RecipeHyperModel
from deeprob_pipeline import trainer_module

SEED = 1234


@pytest.fixture
def recorded(monkeypatch):
    """Records the seed `build_augmentation` gets and the calls to the pipeline's TFRecord reader."""
    calls = {"seeds": [], "reads": []}
    real = run.build_augmentation

    def build_augmentation(spec, num_classes, pca_stats=None, seed=None):
        calls["seeds"].append(seed)
        return real(spec, num_classes, pca_stats=pca_stats, seed=seed)

    def tfrecord_datasets(recipe, train_files, eval_files, names, global_batch_size, image_fn=None,
                          batch_fn=None):
        calls["reads"].append({"seed": recipe.seed, "batch": global_batch_size, "image_fn": image_fn,
                               "batch_fn": batch_fn})
        x = np.zeros((8, 28, 28, 1), "uint8")
        return types.SimpleNamespace(num_classes=len(names), train_arrays=(x, np.zeros(8, "int64")),
                                     num_examples={"train": 8})

    monkeypatch.setattr(run, "build_augmentation", build_augmentation)
    monkeypatch.setattr(trainer_module, "tfrecord_datasets", tfrecord_datasets)
    return calls


def _fn_args(tmp_path, recipe):
    return types.SimpleNamespace(
        custom_config={"recipe": to_dict(recipe), "class_names": [str(i) for i in range(10)],
                       "tuner_trials": 1, "tuner_epochs": 1},
        hyperparameters=None, train_files=[str(tmp_path / "train/*")], eval_files=[str(tmp_path / "eval/*")],
        working_dir=str(tmp_path / "tuner"))


def _recipe():
    recipe = with_overrides(Recipe(), {"seed": SEED, "augmentation.flip": True, "training.batch_size": 16})
    return dataclasses.replace(recipe, search_space=[
        SearchParam(name="optimizer.learning_rate", kind="float", min=1e-3, max=1e-1, sampling="log")])


def _assert_seeded_and_augmented(calls):
    assert calls["seeds"] == [SEED]
    probe, augmented = calls["reads"]
    assert probe["image_fn"] is None and augmented["image_fn"] is not None
    assert {probe["seed"], augmented["seed"]} == {SEED} and augmented["batch"] == 16


def test_trainer_data_fn_gets_the_recipe_seed(recorded, tmp_path):
    fn_args = _fn_args(tmp_path, _recipe())
    recipe = trainer_module.recipe_from_fn_args(fn_args)
    # What train_recipe (run_fn) does with the pipeline's data function.
    run.load_augmented_datasets(recipe, 16, trainer_module._data_fn(fn_args))
    _assert_seeded_and_augmented(recorded)


def test_tuner_trials_get_the_recipe_seed(recorded, tmp_path, monkeypatch):
    # No model: a trial's build stops at the compiled model (the data set-up is what is tested).
    monkeypatch.setattr(hypermodel_module, "build_compiled_model",
                        lambda recipe, data, strategy, plan: ("model", plan.steps_per_epoch))
    result = trainer_module.tuner_fn(_fn_args(tmp_path, _recipe()))
    hypermodel = result.tuner.hypermodel
    assert isinstance(hypermodel, RecipeHyperModel) and hypermodel.epochs == 1
    assert result.fit_kwargs == {"verbose": 2}
    recorded["seeds"].clear()
    recorded["reads"].clear()
    assert hypermodel.build(keras_tuner.HyperParameters()) == "model"
    _assert_seeded_and_augmented(recorded)


def test_tuner_refuses_an_empty_search_space(tmp_path):
    recipe = with_overrides(Recipe(), {"seed": SEED})
    with pytest.raises(ValueError, match="non-empty recipe search_space"):
        trainer_module.tuner_fn(_fn_args(tmp_path, recipe))


def test_tuner_reports_in_one_line_per_summary_unless_verbose(recorded, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DEEPROB_VERBOSE", raising=False)
    monkeypatch.setattr(hypermodel_module, "build_compiled_model",
                        lambda recipe, data, strategy, plan: ("model", plan.steps_per_epoch))
    tuner = trainer_module.tuner_fn(_fn_args(tmp_path, _recipe())).tuner
    capsys.readouterr()
    tuner.search_space_summary()
    tuner.results_summary()
    assert capsys.readouterr().out.splitlines() == [
        "deeprob pipeline: Tuner: random search over ['optimizer.learning_rate'], 1 trial(s)",
        "deeprob pipeline: Tuner: no trial finished"]
    monkeypatch.setenv("DEEPROB_VERBOSE", "1")
    tuner.search_space_summary()
    assert len(capsys.readouterr().out.splitlines()) > 1  # KerasTuner's own summary
