"""A TFDS builder for Fashion-MNIST that reads Debian's `dataset-fashion-mnist` files.

TFDS's stock `fashion_mnist` builder verifies download checksums and rejects
Debian's re-gzipped copies, so this builder reads the IDX files from a manual
directory instead (default `/usr/share/datasets/fashion-mnist`). The rest of the
code sees an ordinary TFDS dataset named `deeprob_fashion_mnist`.
"""

import os

import numpy as np
import tensorflow_datasets as tfds

from deeprob_keras.data.idx import read_idx

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
DEFAULT_MANUAL_DIR = os.environ.get("DEEPROB_FASHION_MNIST_DIR", DEBIAN_DIR)


def manual_dir_from_env():
    """The folder of the IDX files: $DEEPROB_FASHION_MNIST_DIR (read now), else Debian's."""
    return os.environ.get("DEEPROB_FASHION_MNIST_DIR", DEBIAN_DIR)

CLASS_NAMES = [
    "t-shirt/top", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
]

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


class DeeprobFashionMnist(tfds.core.GeneratorBasedBuilder):
    """Fashion-MNIST (60,000 train / 10,000 test, 28x28 grayscale, 10 classes)."""

    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {"1.1.0": "Keep the original IDX order (no shuffling at preparation)."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = (
        "Install Debian's package: apt-get update && apt-get install -y "
        "dataset-fashion-mnist (files land in /usr/share/datasets/fashion-mnist), "
        "or point DEEPROB_FASHION_MNIST_DIR at a folder with the four original "
        "*-ubyte.gz files.")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description="Zalando's Fashion-MNIST, read from the original IDX files.",
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(28, 28, 1)),
                "label": tfds.features.ClassLabel(names=CLASS_NAMES),
            }),
            supervised_keys=("image", "label"),
            disable_shuffling=True,  # keep the IDX order: example i is image i of the file
        )

    def _split_generators(self, dl_manager):
        manual_dir = dl_manager.manual_dir
        return {split: self._generate_examples(manual_dir, *files)
                for split, files in _FILES.items()}

    def _generate_examples(self, manual_dir, images_file, labels_file):
        images = read_idx(os.path.join(manual_dir, images_file))
        labels = read_idx(os.path.join(manual_dir, labels_file))
        if len(images) != len(labels):
            raise ValueError(
                f"{images_file} has {len(images)} images but {labels_file} has {len(labels)} labels")
        for i, (image, label) in enumerate(zip(images, labels)):
            yield i, {"image": image[..., np.newaxis], "label": int(label)}


def source_stamp(manual_dir):
    """What the prepared TFDS copy was built from: the folder and each file's size and
    modification time. A prepared copy with another stamp is stale."""
    files = {}
    for name in sorted(n for pair in _FILES.values() for n in pair):
        st = os.stat(os.path.join(manual_dir, name))
        files[name] = [st.st_size, int(st.st_mtime)]
    return {"dir": os.path.abspath(manual_dir), "files": files}


def missing_files(manual_dir=DEFAULT_MANUAL_DIR):
    """The Fashion-MNIST files absent from `manual_dir` (empty when all are there)."""
    names = [name for pair in _FILES.values() for name in pair]
    return [n for n in names if not os.path.exists(os.path.join(manual_dir, n))]
