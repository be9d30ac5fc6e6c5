"""`Datasets` read from the GZIP tf.Example TFRecords that ExampleGen wrote.

The same preprocessing as the library's `load_datasets` and the serving
signature: `decode_examples` -> `preprocess_images` -> (augmentation) ->
(one-hot) -> (Mixup/CutMix).

The same splits too: validation is the recipe's `data.validation_fraction` of
the train split (held out by `split_validation`'s seeded draw), and the eval
split (written from the dataset's test split, the Evaluator's data) is only the
test set. Nothing the Trainer or the Tuner chooses (the Tuner's best trial,
early stopping, a best checkpoint) sees the images the Evaluator blesses on.
"""

import numpy as np
import tensorflow as tf

from deeprob_keras.data import Datasets, datasets_from_arrays, decode_examples, finish_batches, preprocess_images
from deeprob_keras.data.example_codec import FEATURE_SPEC, IMAGE_KEY, LABEL_KEY
from deeprob_keras.data.pipelines import split_validation
from deeprob_keras.training.plan import label_form

SAMPLE_EXAMPLES = 2000  # decoded into arrays for the raw image shape and PCA lighting statistics
# Train and eval splits whose decoded images take at most this many bytes together are decoded once into
# arrays and trained on as plain training trains on its arrays (`datasets_from_arrays`), instead of being
# read, decompressed and PNG-decoded again every epoch (all of Fashion-MNIST: 55 MB).
CACHE_DECODED_BYTES = 1 << 30
DECODE_BATCH = 1024


class BadExamplesError(ValueError):
    """A TFRecord file the Trainer cannot train on; the message names the file and the feature."""


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


def _gzip_is_complete(path, chunk=1 << 20):
    """Whether `path` (local or a gfile URI) is a whole gzip stream: read to its end-of-stream marker.

    TensorFlow's reader can stop quietly at a cut that falls between two records of the
    decompressed stream (seen once in a full test run: a file cut in half read "cleanly"); gzip's
    trailer (CRC-32 and length) makes any cut detectable. One decompression pass, no parsing.
    """
    import gzip
    import zlib

    try:
        with tf.io.gfile.GFile(path, "rb") as raw, gzip.GzipFile(fileobj=raw) as f:
            while f.read(chunk):
                pass
    except (EOFError, OSError, zlib.error):
        return False
    return True


def _shape_label_image(serialized):
    parsed = tf.io.parse_single_example(serialized, FEATURE_SPEC)
    image = tf.io.decode_png(parsed[IMAGE_KEY], channels=0)
    return tf.shape(image), parsed[LABEL_KEY], image


def check_records(files, num_classes, split, image_shape=None):
    """Reads every record of `files` once; returns how many there are (`read_records` without the images)."""
    return read_records(files, num_classes, split, image_shape)[0]


def read_records(files, num_classes, split, image_shape=None, keep_bytes=0):
    """Reads and decodes every record of `files` once: `(count, (uint8 images, int64 labels) or None)`.

    Each record must be a tf.Example with `image` (PNG bytes) and `label`
    (int64 in [0, num_classes)), every image of one shape (`image_shape`, else
    the first record's). The decoded images are returned, in file order, when
    they take at most `keep_bytes`, so that a Trainer that keeps its data in
    memory does not decode every PNG a second time (`decode_records`); else None.

    Raises:
        BadExamplesError: naming the file, the record and the feature, for a
            truncated or corrupted file, a missing feature or one of the wrong
            type, an undecodable image, an image of another shape, a label
            outside the classes, or an empty split.
    """
    total = 0
    expected = tuple(image_shape) if image_shape is not None else None
    kept_images, kept_labels, kept_bytes = [], [], 0
    for path in files:
        n = 0
        # padded_batch: a record of another shape still batches, and is then named below.
        ds = _records([path]).map(_shape_label_image, num_parallel_calls=tf.data.AUTOTUNE).padded_batch(4096)
        try:
            for shapes, labels, images in ds:
                shapes, labels = shapes.numpy(), labels.numpy()
                if expected is None:
                    expected = tuple(int(d) for d in shapes[0])
                wrong = np.flatnonzero(np.any(shapes != np.array(expected), axis=1))
                if wrong.size:
                    i = int(wrong[0])
                    raise BadExamplesError(
                        f"{path}: record {n + i}: feature '{IMAGE_KEY}' is an image of shape "
                        f"{tuple(int(d) for d in shapes[i])}; expected {expected} like the others")
                outside = np.flatnonzero((labels < 0) | (labels >= num_classes))
                if outside.size:
                    i = int(outside[0])
                    raise BadExamplesError(
                        f"{path}: record {n + i}: feature '{LABEL_KEY}' = {int(labels[i])} is outside the "
                        f"{num_classes} classes [0, {num_classes - 1}]" + (" (missing label)" if labels[i] == -1 else ""))
                n += len(labels)
                kept_bytes += images.shape.num_elements()
                if kept_bytes <= keep_bytes:
                    kept_images.append(images.numpy())
                    kept_labels.append(labels)
        except tf.errors.DataLossError as err:
            raise BadExamplesError(f"{path}: truncated or corrupted TFRecord after {n} readable records "
                                   f"({err.message.strip().splitlines()[0]})") from None
        except tf.errors.InvalidArgumentError as err:
            raise BadExamplesError(
                f"{path}: a record after the first {n}: not a tf.Example with '{IMAGE_KEY}' (PNG bytes) and "
                f"'{LABEL_KEY}' (int64): {err.message.strip().splitlines()[0]}") from None
        if not _gzip_is_complete(path):
            raise BadExamplesError(f"{path}: truncated or corrupted TFRecord after {n} readable records "
                                   "(the gzip stream ends before its end marker)")
        total += n
    if total == 0:
        raise BadExamplesError(f"the {split} split is empty: no records in {list(files)}")
    return total, ((np.concatenate(kept_images), np.concatenate(kept_labels)) if kept_bytes <= keep_bytes else None)


def sample_arrays(files, limit=SAMPLE_EXAMPLES):
    """The first `limit` examples as (uint8 images, int64 labels)."""
    serialized = next(iter(_records(files).batch(limit)))
    parsed = tf.io.parse_example(serialized[:1], FEATURE_SPEC)
    h, w, c = tf.io.decode_png(parsed[IMAGE_KEY][0]).shape
    images, labels = decode_examples(serialized, channels=c, height=h, width=w)
    return images.numpy(), labels.numpy()


_INSPECTED = {}  # (files, sizes, mtimes, classes) -> (counts, sample arrays): the files are immutable artifacts


def _file_key(files):
    stats = [tf.io.gfile.stat(f) for f in files]
    return tuple(files), tuple((s.length, s.mtime_nsec) for s in stats)


def inspect_records(train_files, eval_files, num_classes):
    """`({"train": n, "validation": n}, sample arrays)`: one pass over every record (`read_records`), so bad
    data fails here, naming its file, not inside `fit`; and the first `SAMPLE_EXAMPLES` training examples.
    When both splits fit in `CACHE_DECODED_BYTES`, the images that pass decoded are kept for
    `decode_records`, so each PNG is decoded once per process.

    The result is kept for the process: a Trainer builds its datasets several times (a probe, then with
    augmentation; once per transfer phase; each Tuner trial), and each pass decodes every image (~3 s
    for 12,000 Fashion-MNIST images). Files of another size or modification time are read again.
    """
    key = (_file_key(train_files), _file_key(eval_files), num_classes)
    if key not in _INSPECTED:
        # One decode of every PNG for both the check and, when they fit in memory, the training arrays.
        counts, train = {}, read_records(train_files, num_classes, "train", keep_bytes=CACHE_DECODED_BYTES)
        counts["train"], train_decoded = train
        train_arrays = (tuple(a[:SAMPLE_EXAMPLES] for a in train_decoded) if train_decoded is not None
                        else sample_arrays(train_files))
        raw_shape = train_arrays[0].shape[1:]
        room = CACHE_DECODED_BYTES - train_decoded[0].nbytes if train_decoded is not None else 0
        counts["validation"], eval_decoded = read_records(eval_files, num_classes, "eval", raw_shape, keep_bytes=room)
        _INSPECTED.clear()  # one data set at a time: the sample arrays are a few MB
        _INSPECTED[key] = (counts, train_arrays)
        if train_decoded is not None and eval_decoded is not None:
            _DECODED.clear()
            for files, arrays in ((train_files, train_decoded), (eval_files, eval_decoded)):
                _DECODED[(_file_key(files), tuple(int(d) for d in raw_shape))] = arrays
    return _INSPECTED[key]


_DECODED = {}  # (files, sizes, mtimes, image shape) -> (uint8 images, int64 labels), for the process


def decode_records(files, image_shape):
    """Every record of `files` as (uint8 images of `image_shape`, int64 labels), in file order.

    Kept for the process, like `inspect_records` (a Trainer builds its datasets several times);
    the train and eval splits of one data set at a time. Run `check_records` first: it names a bad
    file, this does not.
    """
    key = (_file_key(files), tuple(int(d) for d in image_shape))
    if key not in _DECODED:
        h, w, c = key[1]
        batches = _records(files).batch(DECODE_BATCH).map(
            lambda serialized: decode_examples(serialized, channels=c, height=h, width=w),
            num_parallel_calls=tf.data.AUTOTUNE)
        images, labels = [], []
        for x, y in batches:
            images.append(x.numpy())
            labels.append(y.numpy())
        if len(_DECODED) >= 2:
            _DECODED.clear()
        _DECODED[key] = (np.concatenate(images) if images else np.zeros((0, h, w, c), np.uint8),
                         np.concatenate(labels) if labels else np.zeros((0,), np.int64))
    return _DECODED[key]


def held_out(count, fraction, seed):
    """Boolean mask over a train split's `count` records: True for the `fraction` held out for validation,
    drawn as `deeprob_keras.data.pipelines.split_validation` draws it (a seeded permutation,
    max(1, round(count * fraction)) records; none when `fraction` is 0)."""
    index = np.arange(int(count))
    _, (validation, _) = split_validation(index, index, fraction, seed)
    mask = np.zeros(int(count), bool)
    mask[validation] = True
    return mask


def cache_decoded(count, image_shape, limit=None):
    """Whether `count` images of `image_shape` (uint8) are few enough to decode once and keep in memory
    (`CACHE_DECODED_BYTES`); more are streamed and decoded every epoch."""
    limit = CACHE_DECODED_BYTES if limit is None else limit
    return int(count) * int(np.prod(image_shape)) <= limit


def tfrecord_datasets(recipe, train_files, eval_files, class_names, global_batch_size,
                      image_fn=None, batch_fn=None):
    """`Datasets` whose train and validation splits read `train_files` and whose test split reads `eval_files`.

    Validation is `recipe.data.validation_fraction` of the training records (`held_out`), as plain
    training holds it out of the dataset's train split; none when the fraction is 0.

    When the decoded images of both files fit in `CACHE_DECODED_BYTES`, the records are decoded once into
    arrays and the datasets are `datasets_from_arrays`' (plain training's: the same epoch order, the same
    augmentation draws); larger data is streamed, decoded every epoch and shuffled in a buffer.

    Args:
        recipe: the `Recipe` (its data.image_size, data.channels, data.validation_fraction, seed,
            data.shuffle_buffer and regularization.label_smoothing are used).
        train_files, eval_files: glob patterns or paths of GZIP TFRecords.
        class_names: names of the classes, in label order.
        global_batch_size: batch size across replicas.
        image_fn, batch_fn: as in `deeprob_keras.data.load_datasets`.

    Raises:
        BadExamplesError: see `check_records` (every record is read once first); also when holding
            out the validation records leaves none to train on.

    Example:
        >>> data = tfrecord_datasets(recipe, fn_args.train_files, fn_args.eval_files, names, 128)
    """
    train_files, eval_files = expand_patterns(train_files), expand_patterns(eval_files)
    num_classes = len(class_names)
    checked, train_arrays = inspect_records(train_files, eval_files, num_classes)
    validation_mask = held_out(checked["train"], recipe.data.validation_fraction, recipe.seed)
    n_validation = int(validation_mask.sum())
    counts = {"train": checked["train"] - n_validation, "validation": n_validation, "test": checked["validation"]}
    if counts["train"] == 0:
        raise BadExamplesError(f"the train split has {checked['train']} record(s): none left for training after "
                               f"holding out data.validation_fraction={recipe.data.validation_fraction}")
    raw_shape = train_arrays[0].shape[1:]
    size, channels = recipe.data.image_size, recipe.data.channels
    one_hot = label_form(recipe) == "one_hot"  # the run plan's label form
    if cache_decoded(checked["train"] + checked["validation"], raw_shape):
        # In memory, through plain training's own code: one data path for both (epoch order, augmentation
        # draws, a resumed run's order). The per-image path it replaced (cache, shuffle buffer, batch,
        # parallel augmentation) was measured at 1.29x plain training's epoch time in a 3x-epochs run. The
        # Trainer's remaining 1.1-1.3x per step was its MirroredStrategy of one replica (stop 43,
        # benchmarks/results/strategy_fresh_process.md); it now trains under deeprob train's strategy.
        images, labels = decode_records(train_files, raw_shape)
        return datasets_from_arrays((images[~validation_mask], labels[~validation_mask]),
                                    (images[validation_mask], labels[validation_mask]),
                                    decode_records(eval_files, raw_shape), list(class_names), global_batch_size,
                                    image_size=size, channels=channels, seed=recipe.seed, image_fn=image_fn,
                                    batch_fn=batch_fn, one_hot=one_hot)
    raw_h, raw_w, raw_c = raw_shape

    def prepare(serialized):
        images, labels = decode_examples(serialized, channels=raw_c, height=raw_h, width=raw_w)
        return preprocess_images(images, size, channels), labels

    def records(files, keep):
        if keep is None:
            return _records(files)
        keep = tf.constant(keep)
        return _records(files).enumerate().filter(lambda i, _: tf.gather(keep, i)).map(lambda _, record: record)

    def make(files, split):
        training, count = split == "train", counts[split]
        keep = None if split == "test" or not n_validation else validation_mask == (split == "validation")
        # Known cardinality: Keras then knows the steps of an epoch instead of running into the end of
        # the data once per dataset (its "Your input ran out of data" warning, TensorFlow's "Local
        # rendezvous is aborting ... End of sequence" logs). `check_records` counted the records.
        ds = records(files, keep).apply(tf.data.experimental.assert_cardinality(count))
        if training:
            ds = ds.shuffle(min(recipe.data.shuffle_buffer, counts["train"]), seed=recipe.seed,
                            reshuffle_each_iteration=True)
        ds = ds.batch(global_batch_size).map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
        return finish_batches(ds, training, num_classes, one_hot, image_fn, batch_fn)

    sample = preprocess_images(train_arrays[0][:1], size, channels)
    return Datasets(train=make(train_files, "train"),
                    validation=make(train_files, "validation") if n_validation else None,
                    test=make(eval_files, "test"),
                    class_names=list(class_names), image_shape=tuple(sample.shape[1:]),
                    num_examples=counts, train_arrays=train_arrays)
