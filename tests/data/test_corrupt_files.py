"""A truncated or corrupted Fashion-MNIST file is refused with an error naming the file."""

import gzip
import os
import shutil

import numpy as np
import pytest

from deeprob_keras.data.idx import CorruptDataFile, read_idx

SOURCE = "/usr/share/datasets/fashion-mnist"
LABELS = "train-labels-idx1-ubyte.gz"
needs_files = pytest.mark.skipif(not os.path.exists(os.path.join(SOURCE, LABELS)),
                                 reason="needs Debian's dataset-fashion-mnist")


def _idx_labels(path, labels):
    header = bytes([0, 0, 0x08, 1]) + len(labels).to_bytes(4, "big")
    with gzip.open(path, "wb") as f:
        f.write(header + bytes(labels))


def test_reads_a_good_file(tmp_path):
    path = str(tmp_path / "labels.gz")
    _idx_labels(path, [1, 2, 3])
    np.testing.assert_array_equal(read_idx(path), [1, 2, 3])


def test_truncated_gzip_names_the_file(tmp_path):
    good = tmp_path / "good.gz"
    _idx_labels(str(good), list(range(10)) * 500)
    bad = tmp_path / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CorruptDataFile, match=rf"{bad}: truncated gzip file") as info:
        read_idx(str(bad))
    assert "\n" not in str(info.value)


def test_not_gzip_names_the_file(tmp_path):
    bad = tmp_path / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(b"<html>404 not found</html>" * 4)
    with pytest.raises(CorruptDataFile, match=rf"{bad}: corrupted gzip file"):
        read_idx(str(bad))


def test_corrupted_gzip_body_names_the_file(tmp_path):
    good = tmp_path / "good.gz"
    _idx_labels(str(good), list(range(10)) * 500)
    data = bytearray(good.read_bytes())
    for i in range(20, 60):
        data[i] ^= 0xFF
    bad = tmp_path / "bad.gz"
    bad.write_bytes(bytes(data))
    with pytest.raises(CorruptDataFile, match=rf"{bad}: (corrupted|truncated) gzip file"):
        read_idx(str(bad))


def test_cli_prints_it_as_one_line():
    from deeprob_keras.cli_errors import user_error

    assert user_error(CorruptDataFile("/x/train-images-idx3-ubyte.gz: truncated gzip file")) == (
        2, "/x/train-images-idx3-ubyte.gz: truncated gzip file")


@needs_files
def test_truncated_file_in_the_fashion_mnist_folder(tmp_path):
    from deeprob_keras.data.arrays import _tfds_arrays

    folder = tmp_path / "fashion-mnist"
    folder.mkdir()
    for name in os.listdir(SOURCE):
        os.symlink(os.path.join(SOURCE, name), folder / name)
    os.remove(folder / LABELS)
    full = open(os.path.join(SOURCE, LABELS), "rb").read()
    (folder / LABELS).write_bytes(full[: len(full) - 100])
    with pytest.raises(CorruptDataFile, match=rf"{folder / LABELS}: truncated gzip file"):
        _tfds_arrays("deeprob_fashion_mnist", str(tmp_path / "tfds"), manual_dir=str(folder))
