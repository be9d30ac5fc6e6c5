"""`Datasets` read from the GZIP tf.Example TFRecords that ExampleGen wrote.

The same preprocessing as the library's `load_datasets` and the serving
signature: `decode_examples` -> `preprocess_images` -> (augmentation) ->
(one-hot) -> (Mixup/CutMix).
"""

import numpy as np
import tensorflow as tf

from deeprob_keras.data import Datasets, decode_examples, finish_batches, preprocess_images
from deeprob_keras.data.example_codec import FEATURE_SPEC, IMAGE_KEY

SAMPLE_EXAMPLES = 2000  # decoded into arrays for the raw image shape and PCA lighting statistics


def expand_patterns(patterns):
    """fn_args.train_files / eval_files (glob patterns) -> sorted file list."""
    files = []
    for pattern in patterns:
        files.extend(sorted(tf.io.gfile.glob(pattern)) if any(c in pattern for c in "*?[") else [pattern])
    if not files:
        raise FileNotFoundError(f"no TFRecord files match {list(patterns)}")
    return files


def _records(files):
    return tf.data.TFRecordDataset(files, compression_type="GZIP")


def count_records(files):
    return int(_records(files).reduce(np.int64(0), lambda n, _: n + 1).numpy())


def sample_arrays(files, limit=SAMPLE_EXAMPLES):
    """The first `limit` examples as (uint8 images, int64 labels)."""
    serialized = next(iter(_records(files).batch(limit)))
    parsed = tf.io.parse_example(serialized[:1], FEATURE_SPEC)
    h, w, c = tf.io.decode_png(parsed[IMAGE_KEY][0]).shape
    images, labels = decode_examples(serialized, channels=c, height=h, width=w)
    return images.numpy(), labels.numpy()


def tfrecord_datasets(recipe, train_files, eval_files, class_names, global_batch_size,
                      image_fn=None, batch_fn=None):
    """`Datasets` whose train split streams `train_files` and validation/test stream `eval_files`.

    Args:
        recipe: the `Recipe` (its data.image_size, data.channels, seed,
            data.shuffle_buffer and regularization.label_smoothing are used).
        train_files, eval_files: glob patterns or paths of GZIP TFRecords.
        class_names: names of the classes, in label order.
        global_batch_size: batch size across replicas.
        image_fn, batch_fn: as in `deeprob_keras.data.load_datasets`.

    Example:
        >>> data = tfrecord_datasets(recipe, fn_args.train_files, fn_args.eval_files, names, 128)
    """
    train_files, eval_files = expand_patterns(train_files), expand_patterns(eval_files)
    train_arrays = sample_arrays(train_files)
    raw_h, raw_w, raw_c = train_arrays[0].shape[1:]
    size, channels = recipe.data.image_size, recipe.data.channels
    num_classes = len(class_names)
    one_hot = recipe.regularization.label_smoothing > 0
    counts = {"train": count_records(train_files), "validation": count_records(eval_files)}
    counts["test"] = counts["validation"]

    def make(files, training):
        ds = _records(files)
        if training:
            ds = ds.shuffle(min(recipe.data.shuffle_buffer, counts["train"]), seed=recipe.seed,
                            reshuffle_each_iteration=True)
        ds = ds.batch(global_batch_size)

        def decode(serialized):
            images, labels = decode_examples(serialized, channels=raw_c, height=raw_h, width=raw_w)
            return preprocess_images(images, size, channels), labels

        ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE)
        return finish_batches(ds, training, num_classes, one_hot, image_fn, batch_fn)

    sample = preprocess_images(train_arrays[0][:1], size, channels)
    validation = make(eval_files, False)
    return Datasets(train=make(train_files, True), validation=validation, test=validation,
                    class_names=list(class_names), image_shape=tuple(sample.shape[1:]),
                    num_examples=counts, train_arrays=train_arrays)
