"""The prepared TFDS copy of Fashion-MNIST follows DEEPROB_FASHION_MNIST_DIR and the files in it:
another folder, or files replaced in place, are prepared again instead of silently ignored."""

import gzip
import os

import numpy as np

from deeprob_keras.data import arrays


def _idx(path, array):
    dims = array.shape
    header = bytes([0, 0, 0x08, len(dims)]) + b"".join(d.to_bytes(4, "big") for d in dims)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def _fake_fashion_mnist(folder, n_train, fill):
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", 3)):
        _idx(str(folder / f"{prefix}-images-idx3-ubyte.gz"), np.full((n, 28, 28), fill))
        _idx(str(folder / f"{prefix}-labels-idx1-ubyte.gz"), np.arange(n) % 10)
    return str(folder)


def _train_images(monkeypatch, folder, data_dir):
    monkeypatch.setenv("DEEPROB_FASHION_MNIST_DIR", folder)
    (x, _), _, _ = arrays._tfds_arrays("deeprob_fashion_mnist", str(data_dir))
    return x


def test_another_folder_or_changed_files_are_prepared_again(tmp_path, monkeypatch):
    cache = tmp_path / "tfds"
    first = _fake_fashion_mnist(tmp_path / "a", n_train=5, fill=7)
    x = _train_images(monkeypatch, first, cache)
    assert x.shape == (5, 28, 28, 1) and (x == 7).all()

    second = _fake_fashion_mnist(tmp_path / "b", n_train=4, fill=9)
    x = _train_images(monkeypatch, second, cache)
    assert x.shape == (4, 28, 28, 1) and (x == 9).all()

    _fake_fashion_mnist(tmp_path / "b", n_train=6, fill=3)  # replaced in place
    os.utime(os.path.join(second, "train-images-idx3-ubyte.gz"), (1, 1))
    x = _train_images(monkeypatch, second, cache)
    assert x.shape == (6, 28, 28, 1) and (x == 3).all()


def test_same_files_reuse_the_prepared_copy(tmp_path, monkeypatch):
    cache = tmp_path / "tfds"
    folder = _fake_fashion_mnist(tmp_path / "a", n_train=5, fill=7)
    _train_images(monkeypatch, folder, cache)
    stamp = cache / "deeprob_fashion_mnist" / arrays.STAMP_FILE
    prepared = [p for p in (cache / "deeprob_fashion_mnist").rglob("*") if p.suffix != ".json"]
    before = {str(p): p.stat().st_mtime_ns for p in prepared}
    _train_images(monkeypatch, folder, cache)
    assert stamp.exists()
    assert {str(p): p.stat().st_mtime_ns for p in prepared} == before  # not prepared again


def test_a_second_process_waits_for_the_one_preparing_the_copy(tmp_path):
    """Two runs started at once on a fresh machine (or two test workers): the copy is prepared under
    an exclusive lock, so the second waits and then reads the first's copy instead of racing it."""
    import fcntl
    import subprocess
    import sys
    import time

    folder = _fake_fashion_mnist(tmp_path / "a", n_train=5, fill=7)
    cache = tmp_path / "tfds"
    cache.mkdir()
    code = ("import sys; from deeprob_keras.data import arrays; "
            "(x, _), _, _ = arrays._tfds_arrays('deeprob_fashion_mnist', sys.argv[1]); print(x.shape[0], int(x.max()))")
    env = dict(os.environ, DEEPROB_FASHION_MNIST_DIR=folder)
    with open(cache / "deeprob_fashion_mnist.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # this test is "the first process"
        proc = subprocess.Popen([sys.executable, "-c", code, str(cache)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(20)  # ample for the import and a 5-image preparation
        assert proc.poll() is None, proc.communicate()[1][-2000:]  # still waiting for the lock
        assert not (cache / "deeprob_fashion_mnist").exists()
        fcntl.flock(lock, fcntl.LOCK_UN)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-2000:]
    assert out.split()[-2:] == ["5", "7"]  # after TFDS's own messages
