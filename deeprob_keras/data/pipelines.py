"""`load_datasets`: train / validation / test `tf.data` pipelines for a dataset name."""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from deeprob_keras.data.arrays import load_arrays
from deeprob_keras.data.epoch_order import EpochOrder, seed_generators


@dataclasses.dataclass
class Datasets:
    """What `load_datasets` returns. Images are float32 in [0, 1], NHWC."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: tf.data.Dataset
    class_names: list
    image_shape: tuple
    num_examples: dict
    train_arrays: tuple = None  # (uint8 images, labels) after filtering, for PCA stats etc.
    train_plain: tf.data.Dataset = None  # training data without augmentation (BatchNorm recalibration)
    test_arrays: tuple = None
    epoch_order: EpochOrder = None  # the training order's counter; its `callback()` keeps a resumed run's order

    def callbacks(self):
        """Keras callbacks that the training data needs in `fit` (none for data without an `EpochOrder`)."""
        return [self.epoch_order.callback()] if self.epoch_order is not None else []

    @property
    def num_classes(self):
        return len(self.class_names)


def preprocess_images(images, image_size=None, channels=None):
    """uint8 images (N, H, W, C) -> float32 in [0, 1], optionally resized / re-channelled.

    The one preprocessing function shared by training and the serving signature.
    """
    x = tf.cast(images, tf.float32) / 255.0
    if channels == 3 and x.shape[-1] == 1:
        x = tf.image.grayscale_to_rgb(x)
    elif channels == 1 and x.shape[-1] == 3:
        x = tf.image.rgb_to_grayscale(x)
    if image_size is not None:
        x = tf.image.resize(x, (image_size, image_size), method="bilinear")
    return x


def finish_batches(ds, training, num_classes, one_hot=False, image_fn=None, batch_fn=None, ordered_draws=False):
    """Batches of preprocessed (images, int labels) -> augmented, (one-hot), prefetched.

    Shared by every data source (arrays here, TFRecords in the pipeline):
    `image_fn` augments training images, labels become one-hot when asked (or
    when `batch_fn` mixes them), `batch_fn` (Mixup/CutMix) runs on whole
    training batches. `ordered_draws`: the two augmenting maps run one batch at
    a time, so that batch i takes the i-th draws of the random generators (a
    parallel map takes them in the order its threads happen to run); they still
    run ahead of training behind the prefetch.
    """
    one_hot = one_hot or batch_fn is not None
    draws = None if ordered_draws else tf.data.AUTOTUNE
    if training and image_fn is not None:
        ds = ds.map(lambda x, y: (image_fn(x, training=True), y), num_parallel_calls=draws)
    if one_hot:
        ds = ds.map(lambda x, y: (x, tf.one_hot(y, num_classes)), num_parallel_calls=tf.data.AUTOTUNE)
    if training and batch_fn is not None:
        ds = ds.map(batch_fn, num_parallel_calls=draws)
    return without_autotune_thread(ds.prefetch(tf.data.AUTOTUNE))


def without_autotune_thread(ds):
    """`ds` with tf.data's autotuning model off, so that deleting one of its iterators never waits.

    In TensorFlow 2.16 each iterator of an autotuned dataset runs a thread that
    sleeps between optimizations for periods that double from 10 ms to 60 s, and
    an iterator deleted the way Keras deletes its epoch iterators waits for that
    sleep to end: with the CPU idle, up to a minute between two epochs of `fit`
    and at the end of each `predict` (`benchmarks/epoch_gap.py`). Without the
    model, `AUTOTUNE` parallel maps run one call per core and `prefetch(AUTOTUNE)`
    sizes its buffer itself; nothing else changes (the same elements, the same
    order).
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)


def select_examples(images, labels, classes=None, examples_per_class=None, limit=None, seed=0):
    """Keeps the given classes (relabelled 0..K-1 in the given order), then N per class, then the first `limit`."""
    if classes is not None:
        classes = list(classes)
        present = set(np.unique(labels).tolist())
        unknown = [c for c in classes if c not in present]
        if unknown:
            raise ValueError(f"data.classes: labels {unknown} do not occur in the data (labels present: {sorted(present)})")
        keep = np.isin(labels, classes)
        images, labels = images[keep], labels[keep]
        remap = {c: i for i, c in enumerate(classes)}
        labels = np.array([remap[int(v)] for v in labels], dtype=np.int64)
    if examples_per_class is not None:
        rng = np.random.default_rng(seed)
        idx = []
        for c in np.unique(labels):
            members = np.flatnonzero(labels == c)
            idx.extend(rng.permutation(members)[:examples_per_class].tolist())
        idx = np.sort(np.array(idx, dtype=np.int64))
        images, labels = images[idx], labels[idx]
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images, labels


def split_validation(images, labels, fraction, seed=0):
    """Carves a validation split from train (never from test), seeded."""
    if fraction <= 0:
        return (images, labels), (images[:0], labels[:0])
    perm = np.random.default_rng(seed).permutation(len(labels))
    n_val = max(1, int(round(len(labels) * fraction)))
    val, train = perm[:n_val], perm[n_val:]
    return (images[train], labels[train]), (images[val], labels[val])


def load_datasets(
    name="fashion_mnist",
    batch_size=128,
    validation_fraction=0.1,
    limit_examples=None,
    classes=None,
    examples_per_class=None,
    image_size=None,
    channels=None,
    seed=0,
    data_dir=None,
    image_fn=None,
    batch_fn=None,
    one_hot=False,
):
    """Returns `Datasets` with batched, prefetched, normalized tf.data pipelines.

    Args:
        name: "fashion_mnist" (offline, Debian's files), "digits" (sklearn), or
            any TFDS name such as "cifar10" (downloads; needs network).
        batch_size: global batch size.
        validation_fraction: share of the training split held out, in [0, 0.5).
        limit_examples: keep only the first N training examples (after the split).
        classes: keep only these labels, relabelled 0..K-1.
        examples_per_class: keep N training examples per class.
        image_size: resize to SxS. channels: force 1 or 3 channels.
        image_fn: a layer applied to training batches (augmentation).
        batch_fn: `(images, one_hot_labels) -> (images, labels)` on training
            batches (Mixup/CutMix); implies one-hot labels everywhere.
        one_hot: one-hot labels (needed for soft-label losses).

    Example:
        >>> data = load_datasets("fashion_mnist", batch_size=128)
        >>> model.fit(data.train, validation_data=data.validation)
    """
    if not 0.0 <= validation_fraction < 0.5:
        raise ValueError(f"validation_fraction must be in [0, 0.5). Received: {validation_fraction}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer. Received: {batch_size}")
    (x_train, y_train), (x_test, y_test), class_names = load_arrays(name, data_dir)
    if classes is not None:
        x_test, y_test = select_examples(x_test, y_test, classes=classes)
        class_names = [class_names[c] for c in classes]
    (x_tr, y_tr), (x_val, y_val) = split_validation(x_train, y_train, validation_fraction, seed)
    x_tr, y_tr = select_examples(x_tr, y_tr, classes, examples_per_class, limit_examples, seed)
    if classes is not None:
        x_val, y_val = select_examples(x_val, y_val, classes=classes)
    if len(y_tr) == 0:
        raise ValueError(f"dataset {name!r}: the training split is empty after filtering")
    if len(np.unique(y_tr)) < 2:
        raise ValueError(f"dataset {name!r}: the training split has fewer than 2 classes")
    return datasets_from_arrays((x_tr, y_tr), (x_val, y_val), (x_test, y_test), class_names, batch_size,
                                image_size=image_size, channels=channels, seed=seed, image_fn=image_fn,
                                batch_fn=batch_fn, one_hot=one_hot)


def datasets_from_arrays(train, validation, test, class_names, batch_size, image_size=None, channels=None,
                         seed=0, image_fn=None, batch_fn=None, one_hot=False):
    """`Datasets` from uint8 image arrays already split into (images, labels) pairs.

    What `load_datasets` builds once it has its arrays, and what the TFX Trainer builds from
    the records it decoded: the same batches for the same arrays and seed. Training batches
    follow an `EpochOrder` (a new permutation each epoch, the same for epoch e in every run of
    the seed); validation and test are read in order. An empty validation pair gives none.

    Example:
        >>> data = datasets_from_arrays((x_tr, y_tr), (x_val, y_val), (x_te, y_te), names, 128)
    """
    (x_tr, y_tr), (x_val, y_val), (x_test, y_test) = train, validation, test
    num_classes = len(class_names)
    sample = preprocess_images(x_tr[:1], image_size, channels)
    if isinstance(image_fn, keras.layers.Layer) and not image_fn.built:
        image_fn.build((None, *sample.shape[1:]))  # layers that make their generators in build() make them now
    order = EpochOrder(seed).key_draws(seed_generators(image_fn, batch_fn))

    def make(images, labels, training):
        if training:  # a new permutation every epoch, the same one for epoch e in every run of this seed
            ds = order.batches(images, labels, batch_size)
        else:
            ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(batch_size, drop_remainder=False)
        ds = ds.map(lambda x, y: (preprocess_images(x, image_size, channels), y),
                    num_parallel_calls=tf.data.AUTOTUNE)
        return finish_batches(ds, training, num_classes, one_hot, image_fn, batch_fn, ordered_draws=True)

    return Datasets(
        train=make(x_tr, y_tr, True),
        validation=make(x_val, y_val, False) if len(y_val) else None,
        test=make(x_test, y_test, False),
        class_names=list(class_names),
        image_shape=tuple(sample.shape[1:]),
        num_examples={"train": len(y_tr), "validation": len(y_val), "test": len(y_test)},
        train_arrays=(x_tr, y_tr),
        train_plain=make(x_tr, y_tr, False),
        test_arrays=(x_test, y_test),
        epoch_order=order,
    )
