"""The Trainer's tf.distribute strategy: chosen as `deeprob train --strategy` chooses (the pipeline config's
`trainer_strategy`, carried in the Trainer's custom_config), MirroredStrategy only on request or over 2+ GPUs.

A MirroredStrategy of one replica took 1.2-1.3x the step time of the default strategy on one CPU, each run in a
fresh process (benchmarks/strategy_fresh_process.py), which is why "auto" is the default."""

import types

import pytest
import tensorflow as tf

from deeprob_keras.recipe import Recipe, RecipeError
from deeprob_keras.recipe.validation import to_dict
from deeprob_pipeline import trainer_module
from deeprob_pipeline.config import load_pipeline_config
from deeprob_pipeline.create_pipeline import trainer_custom_config


class Stop(Exception):
    pass


def _strategy_of(monkeypatch, custom_config):
    seen = {}

    def train_recipe(recipe, out_dir, strategy=None, **kwargs):
        seen["strategy"] = strategy
        raise Stop

    monkeypatch.setattr(trainer_module, "train_recipe", train_recipe)
    fn_args = types.SimpleNamespace(custom_config=custom_config, hyperparameters=None, train_files=[],
                                    eval_files=[], model_run_dir="unused", serving_model_dir="unused")
    with pytest.raises(Stop):
        trainer_module.run_fn(fn_args)
    return seen["strategy"]


def _custom_config(**extra):
    return {"recipe": to_dict(Recipe()), "class_names": [str(i) for i in range(10)], **extra}


def test_the_config_default_is_auto_and_reaches_the_trainer():
    config = load_pipeline_config()
    assert config.trainer_strategy == "auto"
    assert trainer_custom_config(config, Recipe(), ["a", "b"])["strategy"] == "auto"
    mirrored = load_pipeline_config(overrides={"trainer_strategy": "mirrored"})
    assert trainer_custom_config(mirrored, Recipe(), ["a", "b"])["strategy"] == "mirrored"


def test_an_unknown_strategy_is_refused_in_one_line():
    with pytest.raises(RecipeError, match="trainer_strategy") as info:
        load_pipeline_config(overrides={"trainer_strategy": "mirror"})
    assert "\n" not in str(info.value) and "mirrored" in str(info.value)


@pytest.mark.skipif(len(tf.config.list_physical_devices("GPU")) >= 2, reason="auto mirrors over 2+ GPUs")
def test_auto_trains_on_the_one_device_without_mirroring(monkeypatch, capsys):
    strategy = _strategy_of(monkeypatch, _custom_config(strategy="auto"))
    assert not isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy is tf.distribute.get_strategy()
    assert "one device (default strategy)" in capsys.readouterr().out


@pytest.mark.skipif(len(tf.config.list_physical_devices("GPU")) >= 2, reason="auto mirrors over 2+ GPUs")
def test_a_compiled_pipeline_without_the_key_gets_auto(monkeypatch):
    assert _strategy_of(monkeypatch, _custom_config()) is tf.distribute.get_strategy()


def test_mirrored_on_request(monkeypatch, capsys):
    strategy = _strategy_of(monkeypatch, _custom_config(strategy="mirrored"))
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert f"MirroredStrategy, {strategy.num_replicas_in_sync} replica(s)" in capsys.readouterr().out


def test_a_bad_name_in_custom_config_names_the_choices(monkeypatch):
    fn_args = types.SimpleNamespace(custom_config=_custom_config(strategy="tpu"), hyperparameters=None)
    with pytest.raises(ValueError, match="auto.*default.*mirrored"):
        trainer_module.run_fn(fn_args)
