import gzip
import os

import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.data import decode_examples, encode_example, load_arrays, load_datasets
from deeprob_keras.data.idx import read_idx
from deeprob_keras.data.pipelines import split_validation

FMNIST = "/usr/share/datasets/fashion-mnist"


def test_fashion_mnist_from_debian_files():
    (x_train, y_train), (x_test, y_test), names = load_arrays("fashion_mnist")
    assert x_train.shape == (60000, 28, 28, 1) and x_test.shape == (10000, 28, 28, 1)
    assert x_train.dtype == np.uint8 and len(names) == 10
    assert set(np.unique(y_train)) == set(range(10))
    # Same pixels as the IDX file itself (read independently with numpy).
    with gzip.open(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")) as f:
        raw = np.frombuffer(f.read(), np.uint8, offset=16).reshape(10000, 28, 28)
    np.testing.assert_array_equal(x_test[..., 0], raw)
    with gzip.open(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz")) as f:
        raw_labels = np.frombuffer(f.read(), np.uint8, offset=8)
    np.testing.assert_array_equal(y_test, raw_labels)


def test_pipelines_are_batched_normalized_and_split_from_train():
    data = load_datasets("fashion_mnist", batch_size=64, validation_fraction=0.1)
    assert data.num_examples == {"train": 54000, "validation": 6000, "test": 10000}
    assert data.num_classes == 10 and data.image_shape == (28, 28, 1)
    x, y = next(iter(data.test))
    assert x.shape == (64, 28, 28, 1) and x.dtype == tf.float32
    assert 0.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0
    assert float(tf.reduce_max(x)) > 0.5


def test_validation_is_disjoint_and_deterministic():
    images = np.arange(100)[:, None]
    labels = np.arange(100)
    (tr, ytr), (va, yva) = split_validation(images, labels, 0.2, seed=3)
    assert len(va) == 20 and len(tr) == 80 and not set(ytr) & set(yva)
    (_, ytr2), _ = split_validation(images, labels, 0.2, seed=3)
    np.testing.assert_array_equal(ytr, ytr2)


def test_digits_classes_and_resize():
    data = load_datasets("digits", batch_size=32, image_size=28, classes=[3, 5], examples_per_class=10)
    assert data.class_names == ["3", "5"] and data.num_examples["train"] == 20
    x, y = next(iter(data.train))
    assert x.shape[1:] == (28, 28, 1) and set(y.numpy()) <= {0, 1}


def test_bad_inputs():
    with pytest.raises(ValueError, match="validation_fraction"):
        load_datasets("digits", validation_fraction=0.7)
    with pytest.raises(ValueError, match=r"labels \[42\] do not occur"):
        load_datasets("digits", classes=[1, 42])
    with pytest.raises(ValueError, match="fewer than 2 classes"):
        load_datasets("digits", classes=[1])


def test_truncated_idx_file_is_named(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"\x00\x00\x08\x03" + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\x00" * 100)
    with pytest.raises(ValueError, match="truncated or corrupted IDX file"):
        read_idx(str(path))


def test_example_codec_round_trip():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(3, 28, 28, 1), dtype=np.uint8)
    serialized = [encode_example(img, label) for img, label in zip(images, [4, 0, 9])]
    decoded, labels = decode_examples(tf.constant(serialized), channels=1, height=28, width=28)
    np.testing.assert_array_equal(decoded.numpy(), images)
    np.testing.assert_array_equal(labels.numpy(), [4, 0, 9])
    with pytest.raises(ValueError, match="uint8"):
        encode_example(images[0].astype(np.float32), 1)


def test_datasets_from_arrays_orders_each_epoch_by_its_seed_and_reads_the_rest_in_order():
    """What `load_datasets` builds from its arrays and the TFX Trainer from its decoded records: every
    training image once an epoch, in a seeded order that changes each epoch; validation and test in
    order; no validation for an empty pair."""
    from deeprob_keras.data import datasets_from_arrays

    images = np.arange(50, dtype=np.uint8).reshape(50, 1, 1, 1) * np.ones((1, 4, 4, 1), np.uint8)
    labels = np.arange(50) % 3
    split = (images[:40], labels[:40]), (images[40:45], labels[40:45]), (images[45:], labels[45:])

    def values(ds):
        return [int(round(float(v) * 255)) for x, _ in ds for v in x.numpy()[:, 0, 0, 0]]

    data = datasets_from_arrays(*split, ["a", "b", "c"], batch_size=16, seed=3)
    first, second = values(data.train), values(data.train)
    assert sorted(first) == sorted(second) == list(range(40)) and first != second
    assert first == values(datasets_from_arrays(*split, ["a", "b", "c"], batch_size=16, seed=3).train)
    assert first != values(datasets_from_arrays(*split, ["a", "b", "c"], batch_size=16, seed=4).train)
    assert values(data.validation) == list(range(40, 45)) and values(data.test) == list(range(45, 50))
    assert data.num_examples == {"train": 40, "validation": 5, "test": 5} and data.image_shape == (4, 4, 1)
    none = datasets_from_arrays(split[0], (images[:0], labels[:0]), split[2], ["a", "b", "c"], batch_size=16)
    assert none.validation is None and none.num_examples["validation"] == 0


def test_every_split_is_built_without_the_autotune_thread_and_reads_the_same_batches(monkeypatch):
    """tf.data's autotuning model makes Keras wait, the CPU idle, for the model's sleeping thread each time
    it deletes an epoch's iterator (up to a minute in TensorFlow 2.16: benchmarks/epoch_gap.py). The
    library turns the model off and changes nothing else: the same batches in the same order, augmented
    alike, as with TensorFlow's default."""
    import keras

    from deeprob_keras.data import datasets_from_arrays, pipelines

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(50, 4, 4, 1), dtype=np.uint8)
    labels = np.arange(50) % 3
    split = (images[:40], labels[:40]), (images[40:45], labels[40:45]), (images[45:], labels[45:])

    def build():
        flip = keras.layers.RandomFlip("horizontal", seed=7)
        data = datasets_from_arrays(*split, ["a", "b", "c"], batch_size=16, seed=3, image_fn=flip)
        return [data.train, data.validation, data.test, data.train_plain]

    def batches(ds):
        return [(x.numpy(), y.numpy()) for x, y in ds]

    ours = build()
    assert [ds.options().autotune.enabled for ds in ours] == [False] * 4
    monkeypatch.setattr(pipelines, "without_autotune_thread", lambda ds: ds)
    default = build()
    assert all(ds.options().autotune.enabled is not False for ds in default)
    for a, b in zip(ours, default):
        got, expected = batches(a), batches(b)
        assert len(got) == len(expected)
        for (xa, ya), (xb, yb) in zip(got, expected):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
