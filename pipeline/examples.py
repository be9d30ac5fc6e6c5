"""tf.Example TFRecords (GZIP) for ImportExampleGen, from the library's data sources.

Layout under `examples_dir`: `train/data-00000-of-00001.tfrecord.gz`,
`eval/data-00000-of-00001.tfrecord.gz`, `info.json` (class names, image shape,
counts). Examples use the library's codec (`image`: PNG, `label`: int64) plus
three int64 features `height`, `width`, `channels`, so that TFDV can check the
image size against the schema (it cannot look inside PNG bytes).
"""

import dataclasses
import json
import os

import numpy as np
import tensorflow as tf

from deeprob_keras.data import load_arrays
from deeprob_keras.data.example_codec import checked_image, example_from_png
from deeprob_keras.data.pipelines import select_examples

ANOMALY_KINDS = ("label_out_of_range", "wrong_image_size")
SPLITS = ("train", "eval")
SHAPE_KEYS = ("height", "width", "channels")


@dataclasses.dataclass
class ExamplesInfo:
    """What `write_examples` wrote."""

    directory: str
    class_names: list
    image_shape: tuple
    counts: dict
    anomaly: str = None

    def split_pattern(self, split):
        return f"{split}/*"


def to_example(image, label, png=None):
    """The library's tf.Example plus `height`/`width`/`channels` features (serialized); `png`: the image's
    PNG bytes when already encoded."""
    image = checked_image(image)
    png = tf.io.encode_png(image).numpy() if png is None else png
    return example_from_png(png, label, **dict(zip(SHAPE_KEYS, image.shape)))


def png_bytes(images, batch=1024):
    """PNG bytes of each uint8 image, in order: encoded in parallel by `tf.data` when the images share one
    shape, one by one otherwise (e.g. a planted wrong size). Writing 30,000 Fashion-MNIST records took
    7.2 s with one eager `encode_png` call each, 3.9 s this way (same records; stop 32, 2 cores)."""
    if not len(images):
        return []
    if len({np.shape(im) for im in images}) > 1:
        return [tf.io.encode_png(im).numpy() for im in images]
    ds = (tf.data.Dataset.from_tensor_slices(np.stack(images))
          .map(tf.io.encode_png, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(batch))
    return [png for chunk in ds.as_numpy_iterator() for png in chunk]


def plant_anomaly(images, labels, kind, num_classes, fraction=0.05, seed=0):
    """Corrupts a `fraction` of the examples; returns (list of images, labels).

    Args:
        kind: "label_out_of_range" (labels num_classes..num_classes+2) or
            "wrong_image_size" (images padded by 4 pixels on each side).
        fraction: share of examples corrupted, in (0, 1].
    """
    if kind not in ANOMALY_KINDS:
        raise ValueError(f"anomaly: expected one of {list(ANOMALY_KINDS)}. Received: {kind!r}")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction: expected a value in (0, 1]. Received: {fraction}")
    rng = np.random.default_rng(seed)
    n = len(labels)
    chosen = rng.choice(n, size=max(1, int(round(n * fraction))), replace=False)
    images, labels = list(images), np.array(labels, copy=True)
    for i in chosen:
        if kind == "label_out_of_range":
            labels[i] = num_classes + int(rng.integers(3))
        else:
            images[i] = np.pad(images[i], ((4, 4), (4, 4), (0, 0)))
    return images, labels


def _write(path, images, labels):
    tf.io.gfile.makedirs(os.path.dirname(path))
    options = tf.io.TFRecordOptions(compression_type="GZIP")
    with tf.io.TFRecordWriter(path, options) as writer:
        for image, label, png in zip(images, labels, png_bytes(images)):
            writer.write(to_example(image, label, png))


def write_examples(examples_dir, dataset="fashion_mnist", max_train_examples=None, max_eval_examples=None,
                   classes=None, examples_per_class=None, anomaly=None, seed=0, verbose=True):
    """Writes train (from the train split) and eval (from the test split) TFRecords.

    Args:
        examples_dir: output folder (replaced split by split); local or a URI
            (gs://...) that tf.io.gfile writes, for runners on other machines.
        dataset: a name `deeprob_keras.data.load_arrays` knows.
        max_train_examples, max_eval_examples: keep the first N (None = all).
        classes, examples_per_class: as the recipe's `data` section.
        anomaly: None, or one of `ANOMALY_KINDS`, planted in the train split.

    Returns:
        `ExamplesInfo`.

    Example:
        >>> info = write_examples("runs/pipeline/data", "fashion_mnist", 3000, 1000)
    """
    (x_train, y_train), (x_test, y_test), class_names = load_arrays(dataset)
    x_train, y_train = select_examples(x_train, y_train, classes, examples_per_class, max_train_examples, seed)
    x_test, y_test = select_examples(x_test, y_test, classes, None, max_eval_examples, seed)
    if classes is not None:
        class_names = [class_names[c] for c in classes]
    train_images, train_labels = list(x_train), y_train
    if anomaly:
        train_images, train_labels = plant_anomaly(x_train, y_train, anomaly, len(class_names), seed=seed)
    for split, images, labels in (("train", train_images, train_labels), ("eval", list(x_test), y_test)):
        folder = os.path.join(examples_dir, split)
        if tf.io.gfile.isdir(folder):
            for name in tf.io.gfile.listdir(folder):
                tf.io.gfile.remove(os.path.join(folder, name))
        _write(os.path.join(folder, "data-00000-of-00001.tfrecord.gz"), images, labels)
    info = ExamplesInfo(directory=examples_dir if "://" in examples_dir else os.path.abspath(examples_dir), class_names=list(class_names),
                        image_shape=tuple(int(d) for d in x_train.shape[1:]),
                        counts={"train": len(train_labels), "eval": len(y_test)}, anomaly=anomaly)
    with tf.io.gfile.GFile(os.path.join(examples_dir, "info.json"), "w") as f:
        json.dump(dataclasses.asdict(info), f, indent=2)
    if verbose:
        print(f"deeprob pipeline: wrote {info.counts} {dataset} examples"
              f"{' with anomaly ' + anomaly if anomaly else ''} to {info.directory}", flush=True)
    return info


def read_examples_info(examples_dir):
    """The `ExamplesInfo` saved by `write_examples`, or None."""
    path = os.path.join(examples_dir, "info.json")
    if not tf.io.gfile.exists(path):
        return None
    with tf.io.gfile.GFile(path) as f:
        data = json.load(f)
    data["image_shape"] = tuple(data["image_shape"])
    return ExamplesInfo(**data)
