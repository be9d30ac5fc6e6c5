"""PipelineConfig validation, the TFRecord writer, planted anomalies, the curated schema and the gate."""

import os

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2

from deeprob_keras.data import decode_examples
from deeprob_keras.recipe import RecipeError
from deeprob_pipeline.anomaly_gate import describe_anomalies, read_anomalies
import tensorflow_model_analysis as tfma

from deeprob_pipeline.backbone import ensure_backbone
from deeprob_pipeline.config import PROJECT_ROOT, load_pipeline_config, resolve_backbone_recipe, resolve_recipe
from deeprob_pipeline.create_pipeline import eval_config
from deeprob_pipeline.examples import plant_anomaly, read_examples_info, write_examples
from deeprob_pipeline.schema import curated_schema, write_curated_schema
from deeprob_pipeline.serve_check import model_classes_only
from deeprob_pipeline.tfrecord_data import expand_patterns, tfrecord_datasets


def test_defaults_are_valid_and_paths_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_pipeline_config()
    assert config.pipeline_root == str(tmp_path / "runs/pipeline/root")
    assert config.serving_dir == str(tmp_path / "runs/pipeline/serving")
    assert os.path.exists(config.recipe)  # found in the project when not in the cwd
    assert (config.max_train_examples, config.max_eval_examples) == (10000, 2000)
    # The default is the transfer recipe; its backbone lives under the pipeline's runs dir.
    assert os.path.basename(config.recipe) == "pipeline_transfer_fashion_5_9.yaml"
    assert config.backbone_model == str(tmp_path / "runs/pipeline/backbone/model.keras")
    assert os.path.exists(config.backbone_recipe)
    recipe = resolve_recipe(config)
    assert recipe.model.name == "backbone" and recipe.transfer.mode == "two_phase"
    assert recipe.transfer.backbone == config.backbone_model  # absolute, for the Trainer
    assert recipe.data.classes == [5, 6, 7, 8, 9]
    assert [p.name for p in recipe.search_space] == ["optimizer.learning_rate"]  # the head's


def test_backbone_recipe_gets_the_small_budget():
    config = load_pipeline_config(overrides={"backbone_epochs": 2, "backbone_max_examples": 500,
                                             "backbone_recipe_overrides": {"model.widths": [8, 16]}})
    recipe = resolve_backbone_recipe(config)
    assert recipe.name == "pretrain_fashion_0_4" and recipe.data.classes == [0, 1, 2, 3, 4]
    assert (recipe.training.epochs, recipe.data.limit_examples, recipe.model.widths) == (2, 500, [8, 16])
    # The recipe keeps its 1-epoch warmup; the run plan fits it to the 2-epoch run (a quarter of it).
    from deeprob_keras.training.plan import RunPlan

    assert RunPlan.from_recipe(recipe, 500).warmup_epochs == pytest.approx(min(recipe.schedule.warmup_epochs, 0.5))
    assert resolve_backbone_recipe(load_pipeline_config(overrides={"backbone_recipe": None})) is None


def test_backbone_model_null_keeps_the_recipes_path_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    recipe = resolve_recipe(load_pipeline_config(overrides={"backbone_model": None}))
    assert recipe.transfer.backbone == str(tmp_path / "runs/pipeline/backbone/model.keras")
    recipe = resolve_recipe(load_pipeline_config(overrides={
        "recipe_overrides": {"transfer.backbone": "elsewhere/b.keras"}}))
    assert recipe.transfer.backbone == str(tmp_path / "elsewhere/b.keras")


def test_scratch_config_trains_from_scratch_in_its_own_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = load_pipeline_config(os.path.join(PROJECT_ROOT, "pipeline/configs/scratch.yaml"))
    recipe = resolve_recipe(config)
    assert recipe.name == "fashion_mnist" and recipe.model.name == "small_resnet" and recipe.transfer is None
    assert config.serving_dir == str(tmp_path / "runs/pipeline_scratch/serving")
    assert config.pipeline_name != load_pipeline_config().pipeline_name  # its own baseline
    assert ensure_backbone(config, verbose=False).action == "none"


def test_missing_backbone_without_a_recipe_to_train_it_is_an_error(tmp_path):
    config = load_pipeline_config(overrides={"backbone_model": str(tmp_path / "none.keras"),
                                             "backbone_recipe": None})
    with pytest.raises(FileNotFoundError, match="backbone_recipe is null"):
        ensure_backbone(config, verbose=False)


def test_eval_config_holds_the_lower_bound_and_the_change_threshold():
    config = load_pipeline_config(overrides={"accuracy_lower_bound": 0.7, "accuracy_change_threshold": -0.02})
    ec = eval_config(config)
    assert [s.signature_name for s in ec.model_specs] == ["serving_default"]
    assert (ec.model_specs[0].label_key, ec.model_specs[0].prediction_key) == ("label", "probabilities")
    metrics = {m.class_name: m for m in ec.metrics_specs[0].metrics}
    accuracy = metrics["SparseCategoricalAccuracy"]
    # The gate is on the overall slice only: a plain `threshold` would apply to every slice.
    assert not accuracy.HasField("threshold")
    [gate] = accuracy.per_slice_thresholds
    assert [list(sl.feature_keys) for sl in gate.slicing_specs] == [[]]
    threshold = gate.threshold
    assert threshold.value_threshold.lower_bound.value == pytest.approx(0.7)
    assert not threshold.value_threshold.HasField("upper_bound")
    change = threshold.change_threshold
    assert change.absolute.value == pytest.approx(-0.02)
    assert change.direction == tfma.MetricDirection.HIGHER_IS_BETTER
    assert not change.HasField("relative")
    # Metrics overall and per class.
    assert [list(sl.feature_keys) for sl in ec.slicing_specs] == [[], ["label"]]


def test_yaml_overrides_and_errors(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("tuner_trials: 4\nepochs: 2\nbeam_args: ['--direct_num_workers=2']\n")
    config = load_pipeline_config(str(path))
    assert config.tuner_trials == 4 and config.beam_args == ["--direct_num_workers=2"]
    with pytest.raises(RecipeError, match="Did you mean 'tuner_trials'"):
        load_pipeline_config(overrides={"tuner_trails": 3})
    with pytest.raises(RecipeError, match=r"accuracy_lower_bound: expected a value in \[0.0, 1.0\]. Received: 1.5"):
        load_pipeline_config(overrides={"accuracy_lower_bound": 1.5})
    with pytest.raises(RecipeError, match="beam_args"):
        load_pipeline_config(overrides={"beam_args": ["direct_num_workers=2"]})
    with pytest.raises(RecipeError, match="not found"):
        load_pipeline_config(str(tmp_path / "missing.yaml"))


def test_resolve_recipe_applies_overrides_epochs_and_default_search_space():
    config = load_pipeline_config(overrides={"epochs": 2, "recipe_overrides": {"model.widths": [8, 16]}})
    recipe = resolve_recipe(config)
    assert recipe.training.epochs == 2 and recipe.model.widths == [8, 16]
    assert [p.name for p in recipe.search_space] == ["optimizer.learning_rate"]
    assert recipe.search_space[0].sampling == "log"
    with pytest.raises(RecipeError, match="widht"):
        resolve_recipe(load_pipeline_config(overrides={"recipe_overrides": {"model.widht": [8]}}))


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("examples")
    info = write_examples(str(out), "digits", max_train_examples=120, max_eval_examples=40, verbose=False)
    return out, info


def test_selected_classes_are_relabelled_and_named_in_order(tmp_path):
    from deeprob_keras.data import load_arrays

    info = write_examples(str(tmp_path), "fashion_mnist", max_train_examples=None, max_eval_examples=300,
                          classes=[5, 6, 7, 8, 9], examples_per_class=20, verbose=False)
    _, (_, y_test), names = load_arrays("fashion_mnist")
    assert info.class_names == names[5:] and info.counts == {"train": 100, "eval": 300}
    serialized = next(iter(tf.data.TFRecordDataset(expand_patterns([str(tmp_path / "eval" / "*")]),
                                                   compression_type="GZIP").batch(1000)))
    _, labels = decode_examples(serialized, channels=1)
    np.testing.assert_array_equal(labels.numpy(), y_test[y_test >= 5][:300] - 5)


def test_serve_check_keeps_the_models_classes_in_its_label_order():
    images = np.arange(6).reshape(6, 1)
    labels = np.array([0, 5, 9, 2, 7, 5])
    names = [f"c{i}" for i in range(10)]
    kept, relabelled, subset = model_classes_only(images, labels, names, ["c5", "c7", "c9"])
    assert subset and kept[:, 0].tolist() == [1, 2, 4, 5] and relabelled.tolist() == [0, 2, 1, 0]
    assert model_classes_only(images, labels, names, names)[2] is False
    with pytest.raises(ValueError, match="--dataset"):
        model_classes_only(images, labels, names, ["zero"])


def test_written_examples_decode_to_the_source_arrays(digits_dir):
    from deeprob_keras.data import load_arrays

    out, info = digits_dir
    assert info.counts == {"train": 120, "eval": 40}
    assert read_examples_info(str(out)) == info
    files = expand_patterns([str(out / "train" / "*")])
    assert files[0].endswith(".tfrecord.gz")
    serialized = next(iter(tf.data.TFRecordDataset(files, compression_type="GZIP").batch(1000)))
    images, labels = decode_examples(serialized, channels=info.image_shape[2])
    (x_train, y_train), _, _ = load_arrays("digits")
    np.testing.assert_array_equal(images.numpy(), x_train[:120])
    np.testing.assert_array_equal(labels.numpy(), y_train[:120])
    example = tf.train.Example.FromString(serialized[0].numpy())
    assert [example.features.feature[k].int64_list.value[0] for k in ("height", "width", "channels")] \
        == list(info.image_shape)


def test_tfrecord_datasets_match_counts_and_preprocessing(digits_dir):
    from deeprob_keras.recipe import Recipe

    out, info = digits_dir
    data = tfrecord_datasets(Recipe(), [str(out / "train" / "*")], [str(out / "eval" / "*")],
                             info.class_names, global_batch_size=32)
    # validation: 10% (the recipe's data.validation_fraction) of the train records; test: the eval split
    assert data.num_examples == {"train": 108, "validation": 12, "test": 40}
    x, y = next(iter(data.validation))
    assert x.dtype == tf.float32 and float(tf.reduce_max(x)) <= 1.0 and x.shape[1:] == info.image_shape
    assert [sum(int(b[1].shape[0]) for b in ds) for ds in (data.train, data.validation, data.test)] == [108, 12, 40]
    assert data.train_arrays[0].shape == (108,) + info.image_shape  # the training images, as plain training's


def _write_numbered(path, values, num_classes):
    """A GZIP TFRecord of 8x8 images, image i filled with values[i] (so each one is recognisable)."""
    from deeprob_keras.data import encode_example

    with tf.io.TFRecordWriter(str(path), tf.io.TFRecordOptions(compression_type="GZIP")) as writer:
        for v in values:
            writer.write(encode_example(np.full((8, 8, 1), v, np.uint8), int(v) % num_classes))
    return str(path)


def _values(dataset):
    values = [int(round(float(x[0, 0, 0]) * 255)) for images, _ in dataset for x in images.numpy()]
    assert len(values) == len(set(values))  # nothing read twice
    return set(values)


def test_validation_is_held_out_of_the_train_records_never_the_eval_split(tmp_path):
    """As plain training: the Trainer's and the Tuner's validation (their choices: best trial, early
    stopping) come from the train split, a seeded draw of data.validation_fraction of it, disjoint from
    what they train on; the eval split (the Evaluator's data, from the dataset's test split) is the test
    set only."""
    from deeprob_keras.recipe import Recipe, with_overrides
    from deeprob_pipeline.tfrecord_data import held_out

    names = ["a", "b", "c"]
    files = [_write_numbered(tmp_path / "train.gz", range(120), 3)], [_write_numbered(tmp_path / "eval.gz", range(200, 240), 3)]
    data = tfrecord_datasets(with_overrides(Recipe(), {"data.validation_fraction": 0.25, "seed": 3}), *files,
                             names, global_batch_size=32)
    assert data.num_examples == {"train": 90, "validation": 30, "test": 40}
    mask = held_out(120, 0.25, 3)
    assert _values(data.validation) == set(np.flatnonzero(mask))
    assert _values(data.train) == set(np.flatnonzero(~mask))
    assert _values(data.test) == set(range(200, 240))
    # a seeded draw: the same for the same seed, another for another seed
    assert np.array_equal(held_out(120, 0.25, 3), mask) and not np.array_equal(held_out(120, 0.25, 4), mask)
    assert held_out(120, 0.25, 3).sum() == 30 and held_out(9, 0.1, 0).sum() == 1 and held_out(9, 0.0, 0).sum() == 0

    none = tfrecord_datasets(with_overrides(Recipe(), {"data.validation_fraction": 0.0}), *files,
                             names, global_batch_size=32)
    assert none.validation is None and none.num_examples == {"train": 120, "validation": 0, "test": 40}
    assert _values(none.train) == set(range(120))


def test_records_small_enough_train_through_plain_trainings_code_and_large_ones_stream_the_same_examples(
        digits_dir, monkeypatch):
    """In memory (decoded once): exactly the batches `datasets_from_arrays` (plain training's code) gives for
    the decoded arrays, epoch after epoch. Streamed (decoded every epoch): the same examples each epoch in
    another order, the same validation batches. Both reshuffle every epoch; the size rule picks the path."""
    from deeprob_keras.data import datasets_from_arrays
    from deeprob_keras.recipe import Recipe
    from deeprob_keras.training.plan import label_form
    from deeprob_pipeline import tfrecord_data

    out, info = digits_dir
    train_files, eval_files = [str(out / "train" / "*")], [str(out / "eval" / "*")]

    def epochs(data):
        train = [[(x.numpy(), y.numpy()) for x, y in data.train] for _ in range(2)]
        return train, [(x.numpy(), y.numpy()) for x, y in data.validation]

    def build(limit):
        monkeypatch.setattr(tfrecord_data, "CACHE_DECODED_BYTES", limit)
        return tfrecord_datasets(Recipe(), train_files, eval_files, info.class_names, global_batch_size=32)

    (memory_train, memory_val), (streamed_train, streamed_val) = epochs(build(1 << 30)), epochs(build(0))
    shape = info.image_shape
    images, labels = tfrecord_data.decode_records(tfrecord_data.expand_patterns(train_files), shape)
    recipe = Recipe()
    mask = tfrecord_data.held_out(len(labels), recipe.data.validation_fraction, recipe.seed)
    plain_train, plain_val = epochs(datasets_from_arrays(
        (images[~mask], labels[~mask]), (images[mask], labels[mask]),
        tfrecord_data.decode_records(tfrecord_data.expand_patterns(eval_files), shape), info.class_names, 32,
        image_size=recipe.data.image_size, channels=recipe.data.channels, seed=recipe.seed,
        one_hot=label_form(recipe) == "one_hot"))
    for a, b in zip(memory_train + [memory_val], plain_train + [plain_val]):
        assert len(a) == len(b)
        for (xa, ya), (xb, yb) in zip(a, b):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)

    def examples(batches):
        return sorted((x.tobytes(), y.tobytes()) for xs, ys in batches for x, y in zip(xs, ys))

    for memory, streamed in zip(memory_train, streamed_train):
        assert len(examples(memory)) == 108 and examples(memory) == examples(streamed)
    for (xa, ya), (xb, yb) in zip(memory_val, streamed_val):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    for train in (memory_train, streamed_train):  # each epoch reshuffled
        assert not np.array_equal(train[0][0][1], train[1][0][1])
    assert tfrecord_data.cache_decoded(1000, (28, 28, 1), limit=784_000)
    assert not tfrecord_data.cache_decoded(1001, (28, 28, 1), limit=784_000)


def test_examples_encoded_together_are_the_records_encoded_one_by_one():
    """`png_bytes` (tf.data, in parallel) gives each image's own `encode_png` bytes, in order, for images of one
    shape and for mixed shapes (a planted wrong size); the records carry the image, label and shape."""
    from deeprob_pipeline.examples import png_bytes, to_example

    rng = np.random.default_rng(0)
    same = [rng.integers(0, 256, (28, 28, 1), dtype=np.uint8) for _ in range(37)]
    mixed = same[:3] + [np.zeros((36, 36, 1), np.uint8)] + same[3:6]
    for images in (same, mixed):
        assert png_bytes(images, batch=8) == [tf.io.encode_png(im).numpy() for im in images]
    assert png_bytes([]) == []
    record = tf.train.Example.FromString(to_example(same[5], 4, png_bytes(same)[5]))
    assert record == tf.train.Example.FromString(to_example(same[5], 4))
    f = record.features.feature
    assert [f[k].int64_list.value[0] for k in ("label", "height", "width", "channels")] == [4, 28, 28, 1]
    np.testing.assert_array_equal(tf.io.decode_png(f["image"].bytes_list.value[0]).numpy(), same[5])
    with pytest.raises(ValueError, match="image must be uint8"):
        to_example(same[0].astype(np.float32), 0)


def test_plant_anomaly():
    images = np.zeros((100, 28, 28, 1), np.uint8)
    labels = np.arange(100) % 10
    _, bad = plant_anomaly(images, labels, "label_out_of_range", 10, fraction=0.1)
    assert np.sum(bad >= 10) == 10 and np.all(bad[bad < 10] == labels[bad < 10])
    sized, same = plant_anomaly(images, labels, "wrong_image_size", 10, fraction=0.05)
    assert sorted({im.shape for im in sized}) == [(28, 28, 1), (36, 36, 1)]
    assert sum(im.shape == (36, 36, 1) for im in sized) == 5
    np.testing.assert_array_equal(same, labels)
    with pytest.raises(ValueError, match="anomaly: expected one of"):
        plant_anomaly(images, labels, "typo", 10)


def test_curated_schema_fixes_label_domain_and_image_size(tmp_path):
    schema = curated_schema(10, (28, 28, 1))
    features = {f.name: f for f in schema.feature}
    assert (features["label"].int_domain.min, features["label"].int_domain.max) == (0, 9)
    assert (features["height"].int_domain.min, features["height"].int_domain.max) == (28, 28)
    assert features["image"].type == schema_pb2.BYTES and features["image"].presence.min_fraction == 1.0
    path = write_curated_schema(str(tmp_path), 10, (28, 28, 1))
    assert "int_domain" in open(path).read()


def test_gate_reads_and_names_anomalies(tmp_path):
    clean, dirty = anomalies_pb2.Anomalies(), anomalies_pb2.Anomalies()
    info = dirty.anomaly_info["label"]
    info.short_description = "Out-of-range values"
    info.description = "Unexpectedly large value: 12."
    for split, proto in (("train", dirty), ("eval", clean)):
        os.makedirs(tmp_path / f"Split-{split}")
        (tmp_path / f"Split-{split}" / "SchemaDiff.pb").write_bytes(proto.SerializeToString())
    found = read_anomalies(str(tmp_path))
    assert sorted(found) == ["eval", "train"]
    assert describe_anomalies(found) == [
        "train: feature 'label': Out-of-range values (Unexpectedly large value: 12.)"]
    assert describe_anomalies({"eval": clean}) == []
