"""define_hyperparameters / apply_hyperparameters against KerasTuner and the recipe schema."""

import math

import keras_tuner
import numpy as np
import pytest

from deeprob_keras.recipe import Recipe, RecipeError, SearchParam
from deeprob_keras.tuning import apply_hyperparameters, define_hyperparameters, validate_search_space

SPACE = [
    SearchParam(name="optimizer.learning_rate", kind="float", min=1e-4, max=1e-1, sampling="log"),
    SearchParam(name="training.batch_size", kind="int", min=32, max=256, sampling="linear"),
    SearchParam(name="optimizer.name", kind="choice", values=["sgd", "adam"]),
]


def test_registers_each_param_with_kind_range_and_sampling():
    hp = keras_tuner.HyperParameters()
    values = define_hyperparameters(hp, SPACE)
    assert set(values) == {p.name for p in SPACE}
    by_name = {h.name: h for h in hp.space}
    lr = by_name["optimizer.learning_rate"]
    assert isinstance(lr, keras_tuner.engine.hyperparameters.Float)
    assert (lr.min_value, lr.max_value, lr.sampling) == (1e-4, 1e-1, "log")
    bs = by_name["training.batch_size"]
    assert isinstance(bs, keras_tuner.engine.hyperparameters.Int)
    assert (bs.min_value, bs.max_value) == (32, 256)
    assert list(by_name["optimizer.name"].values) == ["sgd", "adam"]
    # The values returned are what hp holds (defaults before any sampling).
    assert values == {k: hp.get(k) for k in values}


def test_log_sampling_is_uniform_in_log_space():
    # The lecture: lr = 10 ** uniform(-4, -1). Half the draws fall below the
    # geometric mean 10 ** -2.5; a linear sampler would put only ~3% there.
    hp = keras_tuner.HyperParameters()
    define_hyperparameters(hp, SPACE[:1])
    (lr,) = hp.space
    draws = np.array([lr.random_sample(seed) for seed in range(2000)])
    assert draws.min() >= 1e-4 and draws.max() <= 1e-1
    below = np.mean(draws < 10 ** -2.5)
    assert 0.45 < below < 0.55
    logs = np.log10(draws)
    assert abs(np.mean(logs) - (-2.5)) < 0.05


def test_apply_writes_values_into_a_new_validated_recipe():
    recipe = Recipe()
    out = apply_hyperparameters(recipe, {"optimizer.learning_rate": 0.003, "training.batch_size": 64,
                                         "optimizer.name": "adam"})
    assert out.optimizer.learning_rate == 0.003
    assert out.training.batch_size == 64
    assert out.optimizer.name == "adam"
    assert recipe.optimizer.learning_rate == 0.05 and recipe.optimizer.name == "sgd"


def test_apply_accepts_hyperparameters_object_and_tfx_config_dict():
    hp = keras_tuner.HyperParameters()
    define_hyperparameters(hp, SPACE)
    hp.values["optimizer.learning_rate"] = 0.02
    assert apply_hyperparameters(Recipe(), hp).optimizer.learning_rate == 0.02
    config = hp.get_config()  # what the TFX Tuner writes as best_hyperparameters
    restored = keras_tuner.HyperParameters.from_config(config)
    assert apply_hyperparameters(Recipe(), config).optimizer.learning_rate == 0.02
    assert apply_hyperparameters(Recipe(), restored).optimizer.learning_rate == 0.02
    assert apply_hyperparameters(Recipe(), {}) == Recipe()


def test_apply_rejects_unknown_keys_and_out_of_range_values():
    with pytest.raises(RecipeError, match="learning_rat"):
        apply_hyperparameters(Recipe(), {"optimizer.learning_rat": 0.1})
    with pytest.raises(RecipeError, match="learning_rate"):
        apply_hyperparameters(Recipe(), {"optimizer.learning_rate": -1.0})


@pytest.mark.parametrize("param, message", [
    (SearchParam(name="optimizer.learning_rate", kind="float", min=0.0, max=0.1, sampling="log"),
     "sampling=log needs min > 0. Received: min=0.0"),
    (SearchParam(name="optimizer.learning_rate", kind="float", min=0.1, max=0.01),
     "needs min < max. Received: min=0.1, max=0.01"),
    (SearchParam(name="optimizer.learning_rate", kind="float", min=None, max=0.01),
     "needs min < max"),
    (SearchParam(name="training.batch_size", kind="int", min=1.5, max=8),
     "whole-number bounds"),
    (SearchParam(name="optimizer.name", kind="choice", values=[]),
     "non-empty list"),
    (SearchParam(name="model.widths", kind="choice", values=[[8, 16], [16, 32]]),
     "non-empty list of numbers"),
    (SearchParam(name="", kind="float", min=0.0, max=1.0),
     "dotted recipe key"),
])
def test_invalid_params_are_named(param, message):
    with pytest.raises(ValueError, match="search_space\\[0\\]") as info:
        validate_search_space([param])
    assert message in str(info.value)
    with pytest.raises(ValueError):
        define_hyperparameters(keras_tuner.HyperParameters(), [param])


def test_duplicate_names_rejected_and_all_errors_reported_together():
    with pytest.raises(ValueError) as info:
        validate_search_space([SPACE[0], SPACE[0], SearchParam(name="x", kind="float", min=2, max=1)])
    text = str(info.value)
    assert "appears twice" in text and "search_space[2] (x)" in text


def test_random_search_trials_produce_distinct_valid_recipes():
    hp = keras_tuner.HyperParameters()
    define_hyperparameters(hp, SPACE)
    rng = np.random.default_rng(0)
    seen = set()
    for seed in range(5):
        values = {h.name: h.random_sample(int(rng.integers(1 << 30))) for h in hp.space}
        recipe = apply_hyperparameters(Recipe(), values)
        assert 1e-4 <= recipe.optimizer.learning_rate <= 1e-1
        assert 32 <= recipe.training.batch_size <= 256 and isinstance(recipe.training.batch_size, int)
        seen.add(round(math.log10(recipe.optimizer.learning_rate), 6))
    assert len(seen) == 5


def test_tuner_seed_makes_seed_0_draw_the_same_trials_every_run():
    import keras_tuner

    from deeprob_keras.tuning import tuner_seed

    def first_draws(seed):
        oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=3, seed=seed)
        oracle.hyperparameters.Float("lr", 1e-3, 1.0, sampling="log")
        return [oracle.populate_space(str(i))["values"]["lr"] for i in range(3)]

    assert tuner_seed(0) == 1 and tuner_seed(7) == 8
    assert first_draws(tuner_seed(0)) == first_draws(tuner_seed(0))
    assert first_draws(tuner_seed(0)) != first_draws(tuner_seed(1))
    # What it guards against: KerasTuner takes seed 0 as no seed at all.
    assert keras_tuner.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=1, seed=0).seed != 0
    for bad in (-1, 1.5, True, None):
        with pytest.raises(ValueError, match="non-negative integer seed"):
            tuner_seed(bad)
