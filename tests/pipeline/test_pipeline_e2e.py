"""End to end with LocalDagRunner on a small Fashion-MNIST subset, with the from-scratch recipe
(fast; the transfer default is in test_transfer_default.py): blessed and pushed; then a worse
model that passes the lower bound but not the change threshold (not blessed, serving dir
unchanged); the same kind of model within a wider change threshold (blessed, pushed); then
planted bad data (stops before training). The links between components are checked from what
each one wrote: the Tuner's best hyperparameters are those the Trainer trained with; a wrong
image size is an anomaly of the curated schema; an inferred schema runs end to end; the data
components run on Beam's DirectRunner in multi-processing mode (the path of Dataflow, Flink and
Spark users)."""

import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.data import encode_example, load_arrays, preprocess_images
from deeprob_pipeline.config import load_pipeline_config
from deeprob_keras.recipe import load_recipe
from deeprob_pipeline.metadata import open_store
from deeprob_pipeline.runners import evaluation_summary, run_local

pytestmark = pytest.mark.slow

NODES = ["ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "AnomalyGate", "Tuner",
         "Trainer", "latest_blessed_model_resolver", "Evaluator", "Pusher"]
# No BatchNorm: its moving averages (momentum 0.99) lag far behind after one short
# epoch, so validation accuracy would stay near chance while training accuracy rises.
SMALL = {"model.widths": [8, 16], "model.batch_norm": False, "optimizer.name": "adam",
         "regularization.penalty": "none", "schedule.warmup_epochs": 0, "training.batch_size": 32,
         "callbacks.backup": False}


def _config(root, **overrides):
    base = dict(pipeline_root=f"{root}/root", metadata_path=f"{root}/metadata.sqlite",
                serving_dir=f"{root}/serving", examples_dir=f"{root}/data",
                max_train_examples=2000, max_eval_examples=500, epochs=2, tuner_trials=2, tuner_epochs=1,
                search_space=[{"name": "optimizer.learning_rate", "kind": "float", "min": 0.002, "max": 0.01,
                               "sampling": "log"}],
                accuracy_lower_bound=0.3, recipe="recipes/fashion_mnist.yaml", recipe_overrides=SMALL)
    return load_pipeline_config(overrides={**base, **overrides})


def _versions(serving_dir):
    return sorted(os.listdir(serving_dir)) if os.path.isdir(serving_dir) else []


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    config = _config(root)
    return config, run_local(config)


def test_every_component_ran_once_and_a_blessed_model_was_pushed(first_run):
    config, report = first_run
    assert report.error is None
    assert {node: states for node, states in report.executions.items()} == {n: ["COMPLETE"] for n in NODES}
    assert report.blessed
    assert report.pushed_dir and os.path.dirname(report.pushed_dir) == config.serving_dir
    assert _versions(config.serving_dir) == [os.path.basename(report.pushed_dir)]
    assert os.path.exists(os.path.join(report.pushed_dir, "saved_model.pb"))


def test_the_trainer_trained_with_the_tuners_best_hyperparameters(first_run):
    config, report = first_run
    store = open_store(config.metadata_path)
    tuned = store.get_artifacts_by_type("HyperParameters")
    assert len(tuned) == 1, "one Tuner run in this store"
    with open(os.path.join(tuned[0].uri, "best_hyperparameters.txt")) as f:
        best = json.load(f)["values"]["optimizer.learning_rate"]
    assert 0.002 <= best <= 0.01  # the search space of _config
    trained_with = load_recipe(os.path.join(report.model_run_dir, "recipe.yaml"))
    assert trained_with.optimizer.learning_rate == pytest.approx(best)
    base = load_recipe(config.recipe).optimizer.learning_rate
    assert not 0.002 <= base <= 0.01, "the recipe's own rate must lie outside the search space for this test to bite"


def test_pushed_model_predicts_like_the_trainers_keras_model(first_run):
    _, report = first_run
    keras_model = keras.saving.load_model(os.path.join(report.model_run_dir, "model.keras"))
    _, (images, _), _ = load_arrays("fashion_mnist")
    images = images[:200]
    expected = keras_model.predict(preprocess_images(images), verbose=0)
    loaded = tf.saved_model.load(report.pushed_dir)
    served = loaded.signatures["serving_default"](
        examples=tf.constant([encode_example(im, 0) for im in images]))["probabilities"].numpy()
    np.testing.assert_allclose(served, expected, atol=1e-5)
    served_images = loaded.signatures["serving_images"](images=preprocess_images(images))["probabilities"]
    np.testing.assert_allclose(served_images.numpy(), expected, atol=1e-5)


def test_evaluator_reports_accuracy_per_class_consistent_with_the_overall_figure(first_run):
    config, report = first_run
    summary = evaluation_summary(report.evaluation_dir)
    per_class = summary["per_class"]
    eval_labels = set()
    for record in tf.data.TFRecordDataset(tf.io.gfile.glob(os.path.join(config.examples_dir, "eval", "*")),
                                          compression_type="GZIP"):
        example = tf.train.Example.FromString(record.numpy())
        eval_labels.add(int(example.features.feature["label"].int64_list.value[0]))
    assert set(per_class) == eval_labels
    counts = np.array([per_class[c]["examples"] for c in sorted(per_class)])
    accuracies = np.array([per_class[c]["accuracy"] for c in sorted(per_class)])
    assert counts.sum() == config.max_eval_examples
    # The overall accuracy is the example-weighted mean of the per-class ones.
    assert float((counts * accuracies).sum() / counts.sum()) == pytest.approx(summary["candidate"], abs=1e-6)


def test_saved_model_cli_and_serve_check_in_fresh_processes(first_run, tmp_path):
    config, report = first_run
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", report.pushed_dir, "--tag_set", "serve"],
                           capture_output=True, text=True, check=True).stdout
    assert "serving_default" in shown and "serving_images" in shown
    out = tmp_path / "check.json"
    subprocess.run([sys.executable, "-m", "deeprob_pipeline.serve_check", config.serving_dir, "--limit", "300",
                    "--json", str(out)], check=True, capture_output=True)
    result = json.loads(out.read_text())
    assert result["version_dir"] == report.pushed_dir and result["examples"] == 300
    keras_model = keras.saving.load_model(os.path.join(report.model_run_dir, "model.keras"))
    _, (images, labels), _ = load_arrays("fashion_mnist")
    expected = np.argmax(keras_model.predict(preprocess_images(images[:300]), verbose=0), axis=-1)
    np.testing.assert_array_equal(result["predictions"], expected)
    assert result["accuracy"] == pytest.approx(float(np.mean(expected == labels[:300])))
    assert result["request_body"]["signature_name"] == "serving_default"


def _worse(config, **overrides):
    """1 epoch at a learning rate of 1e-6: far worse than the first run's model, but above a
    lower bound of 0, so only the change threshold against the blessed baseline can refuse it."""
    return _config(os.path.dirname(config.pipeline_root), enable_tuner=False, search_space=None, epochs=1,
                   accuracy_lower_bound=0.0, recipe_overrides={**SMALL, "optimizer.learning_rate": 1e-6},
                   **overrides)


def test_worse_model_fails_the_change_threshold_not_blessed_and_serving_dir_unchanged(first_run):
    config, first = first_run
    before = _versions(config.serving_dir)
    called = time.time()
    report = run_local(_worse(config), write_data=False, process_started=called - 5.0)
    returned = time.time()
    assert report.error is None
    # The process's start-up (here 5 s before the call, as the CLI would pass it) heads the run report's
    # table: from that start to the run's own, which lies between the call and its return (rows are
    # rounded to the millisecond); and the total is the whole command's.
    start_up = report.wall_time[0]["seconds"]
    assert report.wall_time[0]["step"] == "start-up" and 5.0 - 1e-3 <= start_up <= 5.0 + (returned - called) + 1e-3
    assert report.seconds >= 5.0 and abs(sum(r["seconds"] for r in report.wall_time) - report.seconds) < 0.05
    assert report.executions["Evaluator"] == ["COMPLETE"] and "Tuner" not in report.executions
    assert not report.blessed and report.pushed_dir is None
    assert _versions(config.serving_dir) == before
    summary = evaluation_summary(report.evaluation_dir)
    first_accuracy = evaluation_summary(first.evaluation_dir)["candidate"]
    assert summary["baseline"] == pytest.approx(first_accuracy)  # the first run's blessed model
    assert summary["candidate"] > 0.0 and summary["change"] < -0.01
    assert summary["change"] == pytest.approx(summary["candidate"] - summary["baseline"], abs=1e-6)
    assert [f["is_diff"] for f in summary["failures"]] == [True]  # the change threshold alone


def test_worse_model_within_a_wider_change_threshold_is_blessed_and_pushed(first_run):
    config, _ = first_run
    before = _versions(config.serving_dir)
    report = run_local(_worse(config, accuracy_change_threshold=-0.95), write_data=False)
    assert report.error is None
    summary = evaluation_summary(report.evaluation_dir)
    assert -0.95 < summary["change"] < -0.01  # worse than the baseline, but within the threshold
    assert summary["failures"] == [] and report.blessed
    assert report.pushed_dir and _versions(config.serving_dir) == sorted(
        before + [os.path.basename(report.pushed_dir)])


@pytest.mark.parametrize("anomaly, feature", [("label_out_of_range", "label"), ("wrong_image_size", "height"),
                                              ("wrong_image_size", "width")])
def test_planted_anomaly_stops_before_training(first_run, tmp_path, anomaly, feature, capfd):
    config, _ = first_run
    before = _versions(config.serving_dir)
    bad = _config(tmp_path, serving_dir=config.serving_dir, max_train_examples=300, max_eval_examples=100)
    report = run_local(bad, anomaly=anomaly)
    assert report.error is not None and "anomal" in report.error
    assert f"feature '{feature}'" in report.error
    assert report.executions["ExampleValidator"] == ["COMPLETE"]
    assert report.executions["AnomalyGate"] == ["FAILED"]
    assert "Trainer" not in report.executions and "Tuner" not in report.executions
    assert report.pushed_dir is None and _versions(config.serving_dir) == before


DATA_NODES = ["ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator"]


def test_inferred_schema_runs_end_to_end(tmp_path):
    """`schema: inferred`: TFX's SchemaGen infers the schema from today's statistics (it names
    every feature and types them), the data passes it, the model is trained and pushed."""
    config = _config(tmp_path, schema="inferred", enable_tuner=False, epochs=1, max_train_examples=600,
                     max_eval_examples=200, accuracy_lower_bound=0.0)
    report = run_local(config)
    assert report.error is None, report.error
    assert all(report.executions[n] == ["COMPLETE"] for n in DATA_NODES + ["AnomalyGate", "Trainer", "Pusher"])
    schema_dir = [a.uri for a in open_store(config.metadata_path).get_artifacts_by_type("Schema")]
    assert len(schema_dir) == 1
    from tensorflow_metadata.proto.v0 import schema_pb2
    from google.protobuf import text_format

    schema = text_format.Parse(open(os.path.join(schema_dir[0], "schema.pbtxt")).read(), schema_pb2.Schema())
    types = {f.name: schema_pb2.FeatureType.Name(f.type) for f in schema.feature}
    assert types == {"image": "BYTES", "label": "INT", "height": "INT", "width": "INT", "channels": "INT"}
    assert report.pushed_dir and os.path.exists(os.path.join(report.pushed_dir, "saved_model.pb"))


@pytest.mark.long  # over a minute: `make test-long`
def test_data_components_on_the_multi_processing_direct_runner(tmp_path, capsys):
    """The data components through `beam_args` with two DirectRunner worker processes, on data with
    a planted anomaly (so the run stops at the gate, before training): the same verdict as the
    in-process runner's. Both wall times are printed (seen with -s)."""
    seconds = {}
    for mode, workers in (("in_memory", 1), ("multi_processing", 2)):
        config = _config(tmp_path / mode, max_train_examples=600, max_eval_examples=200,
                         beam_args=[f"--direct_running_mode={mode}", f"--direct_num_workers={workers}"])
        report = run_local(config, anomaly="label_out_of_range")
        assert report.error is not None and "feature 'label'" in report.error, (mode, report.error)
        assert all(report.executions[n] == ["COMPLETE"] for n in DATA_NODES), (mode, report.executions)
        assert report.executions["AnomalyGate"] == ["FAILED"] and "Trainer" not in report.executions
        seconds[mode] = {n: report.component_seconds[n] for n in DATA_NODES}
    with capsys.disabled():
        print("\ndata components, seconds (in_memory, 1 worker | multi_processing, 2 workers): "
              + ", ".join(f"{n} {seconds['in_memory'][n]:.1f} | {seconds['multi_processing'][n]:.1f}"
                          for n in DATA_NODES))
