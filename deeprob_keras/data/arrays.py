"""Raw arrays (uint8 NHWC images, int labels) for any dataset name."""

import contextlib
import functools
import json
import os
import shutil

import numpy as np

DEFAULT_DATA_DIR = os.path.join(os.path.expanduser("~"), ".cache", "deeprob", "tfds")
LOCAL_NAMES = {"fashion_mnist": "deeprob_fashion_mnist"}


STAMP_FILE = "source.json"


def _drop_if_stale(prepared_dir, stamp, adopt):
    """Deletes a prepared TFDS copy built from other files (another DEEPROB_FASHION_MNIST_DIR,
    or files changed in place), so that it is prepared again from `stamp`'s. A copy without a
    stamp (made before stamps existed) is kept when `adopt` (Debian's folder: what it was
    built from)."""
    path = os.path.join(prepared_dir, STAMP_FILE)
    if not os.path.isdir(prepared_dir):
        return
    try:
        with open(path) as f:
            old = json.load(f)
    except (OSError, ValueError):
        old = stamp if adopt else None
    if old != stamp:
        print(f"deeprob: the Fashion-MNIST files changed ({stamp['dir']}); preparing the cache again", flush=True)
        shutil.rmtree(prepared_dir)


def _write_stamp(prepared_dir, stamp):
    tmp = os.path.join(prepared_dir, f"{STAMP_FILE}.{os.getpid()}.tmp")  # processes may load at once
    with open(tmp, "w") as f:
        json.dump(stamp, f)
    os.replace(tmp, os.path.join(prepared_dir, STAMP_FILE))


@contextlib.contextmanager
def _preparing(data_dir, name):
    """An exclusive lock (`flock`) on `<data_dir>/<name>.lock` while the TFDS copy is checked or prepared."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    os.makedirs(data_dir, exist_ok=True)
    with open(os.path.join(data_dir, f"{name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _tfds_arrays(name, data_dir, manual_dir=None):
    import tensorflow_datasets as tfds

    if name == "deeprob_fashion_mnist":
        from deeprob_keras.data import fashion_mnist_local  # registers the builder

        manual_dir = manual_dir or fashion_mnist_local.manual_dir_from_env()
        missing = fashion_mnist_local.missing_files(manual_dir)
        if missing:
            raise FileNotFoundError(
                f"Fashion-MNIST files missing from {manual_dir}: {', '.join(missing)}. "
                + fashion_mnist_local.DeeprobFashionMnist.MANUAL_DOWNLOAD_INSTRUCTIONS)
        stamp = fashion_mnist_local.source_stamp(manual_dir)
    with _preparing(data_dir, name):  # two processes starting at once on a fresh machine prepare it once
        if name == "deeprob_fashion_mnist":
            _drop_if_stale(os.path.join(data_dir, name), stamp,
                           adopt=os.path.abspath(manual_dir) == fashion_mnist_local.DEBIAN_DIR)
        builder = tfds.builder(name, data_dir=data_dir)
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
        if name == "deeprob_fashion_mnist":
            _write_stamp(os.path.join(data_dir, name), stamp)
    info = builder.info
    image_key, label_key = info.supervised_keys
    splits = {}
    for split in ("train", "test"):
        if split not in info.splits:
            raise ValueError(f"TFDS dataset {name!r} has no {split!r} split")
        data = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1))
        splits[split] = (np.asarray(data[image_key]), np.asarray(data[label_key]).astype(np.int64))
    class_names = list(info.features[label_key].names)
    return splits["train"], splits["test"], class_names


@functools.lru_cache(maxsize=4)
def load_arrays(name, data_dir=None):
    """Returns (train, test, class_names); train/test are (uint8 images, int64 labels).

    `name` is "fashion_mnist" (Debian's offline files through our TFDS builder),
    "digits" (sklearn, bundled), or any TFDS name (needs network the first time).
    Cached per process (treat the arrays as read-only): a run that builds its
    pipelines twice, or trains several members, reads the files once.
    """
    if name == "digits":
        from deeprob_keras.data.digits import CLASS_NAMES, load_digits_arrays

        train, test = load_digits_arrays()
        class_names = list(CLASS_NAMES)
    else:
        train, test, class_names = _tfds_arrays(LOCAL_NAMES.get(name, name), data_dir or DEFAULT_DATA_DIR)
    for array in (*train, *test):
        array.setflags(write=False)  # shared through the cache
    return train, test, class_names
