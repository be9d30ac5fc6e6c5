"""RunPlan: every number a run derives from its recipe, computed once and consumed by every path."""

import dataclasses
import json
import os

import pytest

from deeprob_keras.recipe import Recipe, load_recipe, with_overrides
from deeprob_keras.schedules import LinearWarmup
from deeprob_keras.training.plan import (MAX_WARMUP_FRACTION, RunPlan, fitted_warmup_epochs, global_batch_size,
                                         label_form, peak_learning_rate)
from deeprob_keras.training.two_phase import phase_recipes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT = os.path.join(ROOT, "recipes", "fashion_mnist.yaml")


def test_batch_steps_and_seeds():
    recipe = with_overrides(Recipe(), {"training.batch_size": 100, "training.ensemble_members": 3, "seed": 7})
    plan = RunPlan.from_recipe(recipe, num_train_examples=1001, replicas=2)
    assert plan.global_batch_size == 200 == global_batch_size(recipe, 2)
    assert plan.steps_per_epoch == 6 and plan.total_steps == 6 * recipe.training.epochs   # ceil(1001 / 200)
    assert plan.seed == 7 and plan.member_seeds == (7, 8, 9)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.steps_per_epoch = 1


def test_linear_scaling_rule_and_transfer_factor():
    recipe = with_overrides(Recipe(), {"optimizer.learning_rate": 0.1, "optimizer.base_batch_size": 64,
                                       "training.batch_size": 128})
    assert RunPlan.from_recipe(recipe, 1000, replicas=2).learning_rate == pytest.approx(0.1 * 256 / 64)
    assert RunPlan.from_recipe(with_overrides(recipe, {"optimizer.base_batch_size": None}), 1000,
                               replicas=2).learning_rate == pytest.approx(0.1)
    tuned = with_overrides(Recipe(), {"model.name": "backbone", "optimizer.learning_rate": 0.1,
                                      "transfer": {"backbone": "x.keras", "mode": "fine_tune", "lr_factor": 0.2}})
    assert peak_learning_rate(tuned, 128) == pytest.approx(0.02)
    head = with_overrides(tuned, {"transfer.mode": "feature_extraction"})
    assert peak_learning_rate(head, 128) == pytest.approx(0.1)


def _two_phase(**transfer):
    return with_overrides(Recipe(), {
        "model.name": "backbone", "optimizer.learning_rate": 0.1, "optimizer.base_batch_size": 64,
        "training.batch_size": 128, "training.epochs": 8, "schedule.warmup_epochs": 1.0,
        "transfer": {"backbone": "x.keras", "mode": "two_phase", "lr_factor": 0.2, "feature_extraction_epochs": 2,
                     **transfer}})


def test_two_phase_plan_describes_both_phases():
    recipe = _two_phase()
    plan = RunPlan.from_recipe(recipe, num_train_examples=1000, replicas=2)   # global batch 256
    extraction, fine_tune = plan.phases
    # feature extraction for transfer.feature_extraction_epochs, then fine-tuning for training.epochs
    assert sum(p.epochs for p in plan.phases) == recipe.transfer.feature_extraction_epochs + recipe.training.epochs
    assert (extraction.name, extraction.epochs, extraction.trainable) == ("feature_extraction", 2, "head")
    assert (fine_tune.name, fine_tune.epochs, fine_tune.trainable) == ("fine_tune", 8, "head_and_top")
    # head at optimizer.learning_rate, fine-tuning at lr_factor x it; both with the linear scaling rule 256 / 64
    assert extraction.learning_rate == pytest.approx(0.1 * 256 / 64)
    assert fine_tune.learning_rate == pytest.approx(0.2 * 0.1 * 256 / 64)
    # warmup fitted to each phase: min(1.0, 0.25 x epochs)
    assert (extraction.warmup_epochs, fine_tune.warmup_epochs) == (0.5, 1.0)


def test_each_phase_runs_with_the_numbers_of_its_phase_plan(tmp_path):
    """train_transfer's phases (their own recipes, hence their own run plans) are the plan's phases."""
    recipe = _two_phase(freeze_until="stage0")
    plan = RunPlan.from_recipe(recipe, num_train_examples=1000, replicas=2)
    runs = phase_recipes(recipe, str(tmp_path), plan.phases)
    assert [name for name, _, _ in runs] == [p.name for p in plan.phases]
    for (name, phase_recipe, _), phase in zip(runs, plan.phases):
        own = RunPlan.from_recipe(phase_recipe, num_train_examples=1000, replicas=2)
        assert (own.epochs, own.learning_rate, own.warmup_epochs) == (phase.epochs, phase.learning_rate,
                                                                      phase.warmup_epochs)
        assert own.steps_per_epoch == plan.steps_per_epoch and own.phases[0].name == name
    assert runs[1][1].transfer.initial_model == os.path.join(runs[0][2], "model.keras")


def test_one_phase_plans():
    plan = RunPlan.from_recipe(Recipe(), num_train_examples=1000)
    (only,) = plan.phases
    assert (only.name, only.epochs, only.learning_rate, only.warmup_epochs, only.trainable, only.overrides) == (
        "train", plan.epochs, plan.learning_rate, plan.warmup_epochs, "all", {})
    tuned = RunPlan.from_recipe(_two_phase(mode="fine_tune"), num_train_examples=1000, replicas=2)
    assert [(p.name, p.epochs, p.learning_rate) for p in tuned.phases] == [("fine_tune", 8, tuned.learning_rate)]


def test_label_form():
    assert label_form(Recipe()) == "sparse"
    assert label_form(with_overrides(Recipe(), {"regularization.label_smoothing": 0.1})) == "sparse"
    assert label_form(with_overrides(Recipe(), {"augmentation.mixup_alpha": 0.2})) == "one_hot"
    plan = RunPlan.from_recipe(with_overrides(Recipe(), {"augmentation.cutmix_alpha": 1.0}), 10)
    assert plan.label_form == "one_hot" and plan.one_hot


def test_one_warmup_policy():
    assert MAX_WARMUP_FRACTION == 0.25
    assert fitted_warmup_epochs(1.0, 25) == 1.0        # fits: kept
    assert fitted_warmup_epochs(1.0, 1) == 0.25        # shortened run: capped at a quarter of it
    assert fitted_warmup_epochs(0.0, 1) == 0.0
    assert fitted_warmup_epochs(30, 10) == 2.5
    with pytest.raises(ValueError, match=r"warmup_epochs=-1"):
        fitted_warmup_epochs(-1, 10)
    with pytest.raises(ValueError, match=r"epochs=0"):
        fitted_warmup_epochs(1.0, 0)
    # The default recipe shortened to one epoch validates and gets a fitted warmup.
    recipe = with_overrides(load_recipe(DEFAULT), {"training.epochs": 1})
    plan = RunPlan.from_recipe(recipe, 1000)
    assert plan.warmup_epochs == 0.25
    assert plan.schedule_spec(recipe.schedule).warmup_epochs == 0.25
    assert recipe.schedule.warmup_epochs == 1.0   # the recipe itself is not changed


def test_progressive_resize_ramp_is_fitted_to_the_run():
    from deeprob_keras.training.plan import MAX_RESIZE_RAMP_FRACTION, fitted_resize_ramp

    assert MAX_RESIZE_RAMP_FRACTION == 0.75
    assert fitted_resize_ramp(14, 28) == 14      # fits: kept
    assert fitted_resize_ramp(14, 4) == 3        # shortened run: the last quarter still at full size
    recipe = with_overrides(load_recipe(DEFAULT), {"training.progressive_resize_min": 16,
                                                   "training.progressive_resize_epochs": 10})
    assert RunPlan.from_recipe(recipe, 1000).progressive_resize == (16, 10)
    assert RunPlan.from_recipe(with_overrides(recipe, {"training.epochs": 1}), 1000).progressive_resize is None
    assert RunPlan.from_recipe(load_recipe(DEFAULT), 1000).progressive_resize is None


def test_build_compiled_model_uses_the_plan():
    import tensorflow as tf

    from deeprob_keras.training import build_compiled_model

    recipe = with_overrides(load_recipe(DEFAULT), {"training.epochs": 1, "optimizer.base_batch_size": 64,
                                   "model.widths": [4, 8]})

    class FakeData:
        image_shape, num_classes, num_examples = (28, 28, 1), 10, {"train": 1000}

    model, steps = build_compiled_model(recipe, FakeData(), tf.distribute.get_strategy())
    schedule = model.optimizer.learning_rate_schedule if hasattr(model.optimizer, "learning_rate_schedule") \
        else model.optimizer._learning_rate
    assert steps == 8   # ceil(1000 / 128)
    assert isinstance(schedule, LinearWarmup) and schedule.warmup_steps == 2   # 0.25 epoch of 8 steps
    assert float(schedule(2)) == pytest.approx(0.05 * 128 / 64)   # peak: linear scaling rule
    assert type(model.loss).__name__ == "SparseCategoricalCrossentropy"


@pytest.mark.slow
def test_cli_train_one_epoch_of_the_default_recipe(tmp_path, capsys):
    from deeprob_keras.cli import main

    out = tmp_path / "run"
    assert main(["train", DEFAULT, "--epochs", "1", "--limit-examples", "256", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 1
    assert metrics["plan"]["warmup_epochs"] == 0.25 and metrics["plan"]["steps_per_epoch"] == 2
    assert "test accuracy:" in capsys.readouterr().out
