"""The pipeline's default, the transfer recipe: the backbone is pretrained when missing and reused;
the Trainer's run_fn runs both transfer phases on its TFRecords under a two-replica
MirroredStrategy; and the whole LocalDagRunner pipeline on a tiny budget pushes a model of
the target's classes that serve-check scores on those classes."""

import os
import tempfile
import types

import numpy as np
import pytest

from distribute import run_in_two_replicas

pytestmark = pytest.mark.slow

TINY_BACKBONE = {"backbone_epochs": 1, "backbone_max_examples": 600,
                 "backbone_recipe_overrides": {"callbacks.backup": False}}
TINY_TRANSFER = {"data.examples_per_class": 60, "transfer.feature_extraction_epochs": 1,
                 "training.epochs": 1, "training.batch_size": 32, "callbacks.backup": False}


def trainer_transfer_two_replicas(strategy):
    """Runs in a subprocess with two logical CPUs (see tests/distribute.py)."""
    import json

    import tensorflow as tf

    from deeprob_pipeline.backbone import ensure_backbone
    from deeprob_pipeline.config import load_pipeline_config, resolve_recipe
    from deeprob_pipeline.create_pipeline import trainer_custom_config
    from deeprob_pipeline.examples import write_examples
    from deeprob_pipeline.trainer_module import run_fn

    root = tempfile.mkdtemp()
    config = load_pipeline_config(overrides={
        **TINY_BACKBONE, "backbone_model": f"{root}/backbone/model.keras", "examples_dir": f"{root}/data",
        "recipe_overrides": {**TINY_TRANSFER, "data.examples_per_class": 40}})
    actions = [ensure_backbone(config, verbose=False).action, ensure_backbone(config, verbose=False).action]
    recipe = resolve_recipe(config)
    info = write_examples(config.examples_dir, "fashion_mnist", max_eval_examples=100,
                          classes=recipe.data.classes, examples_per_class=40, verbose=False)
    fn_args = types.SimpleNamespace(
        custom_config=trainer_custom_config(config, recipe, info.class_names), hyperparameters=None,
        train_files=[f"{root}/data/train/*"], eval_files=[f"{root}/data/eval/*"],
        model_run_dir=f"{root}/model_run", serving_model_dir=f"{root}/serving")
    run_fn(fn_args, strategy=strategy)
    metrics = json.load(open(f"{root}/model_run/metrics.json"))
    loaded = tf.saved_model.load(f"{root}/serving")
    names = open(f"{root}/serving/assets.extra_class_names.txt").read().split("\n")
    return {"actions": actions, "replicas": metrics["replicas"], "num_examples": metrics["num_examples"],
            "phases": sorted(metrics["phases"]), "signatures": sorted(loaded.signatures),
            "names": [n for n in names if n], "backbone": recipe.transfer.backbone, "root": root}


def test_trainer_runs_both_transfer_phases_on_its_tfrecords_with_two_replicas():
    result = run_in_two_replicas("tests.pipeline.test_transfer_default:trainer_transfer_two_replicas")
    assert result["actions"] == ["trained", "reused"]
    assert result["backbone"] == f"{result['root']}/backbone/model.keras"
    assert result["replicas"] == 2
    # The TFRecords' counts, not the library's own split: validation is 10% of the 200 train records,
    # the 100 eval records are the test set only.
    assert result["num_examples"] == {"train": 180, "validation": 20, "test": 100}
    assert result["phases"] == ["feature_extraction", "fine_tune"]
    assert {"serving_default", "serving_images"} <= set(result["signatures"])
    assert result["names"] == ["sandal", "shirt", "sneaker", "bag", "ankle boot"]


@pytest.mark.long  # over a minute: `make test-long`
def test_transfer_default_end_to_end_on_a_tiny_budget(tmp_path, capfd):
    from deeprob_pipeline.backbone import ensure_backbone
    from deeprob_pipeline.config import load_pipeline_config
    from deeprob_pipeline.runners import evaluation_summary, run_local
    from deeprob_pipeline.serve_check import serve_check

    config = load_pipeline_config(overrides={
        **TINY_BACKBONE, "pipeline_root": f"{tmp_path}/root", "metadata_path": f"{tmp_path}/metadata.sqlite",
        "serving_dir": f"{tmp_path}/serving", "examples_dir": f"{tmp_path}/data",
        "backbone_model": f"{tmp_path}/backbone/model.keras", "max_eval_examples": 300,
        "tuner_trials": 1, "tuner_epochs": 1, "accuracy_lower_bound": 0.0, "recipe_overrides": TINY_TRANSFER})
    report = run_local(config)
    out = capfd.readouterr().out
    assert "pretraining 'pretrain_fashion_0_4'" in out and "phase 2/2 fine_tune" in out
    assert report.error is None, report.error
    assert report.executions["Tuner"] == ["COMPLETE"] and report.executions["Trainer"] == ["COMPLETE"]
    assert report.blessed and report.pushed_dir and report.backbone.endswith("(trained)")
    assert os.path.exists(os.path.join(report.model_run_dir, "feature_extraction", "model.keras"))
    assert ensure_backbone(config, verbose=False).action == "reused"
    # The eval split is the first 300 test images of classes 5-9, relabelled 0..4: serve-check sends
    # the same images with the same labels, so it must agree with the Evaluator exactly (a tiny
    # budget: the model's quality is not the point here, the label ids and class names are).
    result = serve_check(config.serving_dir, limit=300, verbose=False)
    assert result["examples"] == 300 and set(np.unique(result["predictions"])) <= set(range(5))
    assert result["accuracy"] == pytest.approx(evaluation_summary(report.evaluation_dir)["candidate"], abs=1e-6)
