"""`deeprob_pipeline.resume`: examples rewritten with the same content keep their bytes and mtime (so
ImportExampleGen's fingerprint, and with it TFX's cache, holds); changed examples are kept new."""

import os
import time

from deeprob_pipeline.config import load_pipeline_config
from deeprob_pipeline.examples import write_examples
from deeprob_pipeline.resume import interrupted_run, keep_unchanged_examples


def _stats(directory):
    return {os.path.relpath(os.path.join(d, f), directory): (os.stat(os.path.join(d, f)).st_mtime_ns,
                                                          os.path.getsize(os.path.join(d, f)))
            for d, _, files in os.walk(directory) for f in files if f.endswith(".tfrecord.gz")}


def test_same_examples_keep_their_files_changed_examples_do_not(tmp_path):
    data = str(tmp_path / "data")
    write_examples(data, "fashion_mnist", 120, 40, verbose=False)
    before = _stats(data)
    time.sleep(1.1)  # the fingerprint counts mtime in whole seconds
    with keep_unchanged_examples(data):
        write_examples(data, "fashion_mnist", 120, 40, verbose=False)
    assert _stats(data) == before
    with keep_unchanged_examples(data):
        write_examples(data, "fashion_mnist", 121, 40, verbose=False)
    after = _stats(data)
    assert after["eval/data-00000-of-00001.tfrecord.gz"] == before["eval/data-00000-of-00001.tfrecord.gz"]
    assert after["train/data-00000-of-00001.tfrecord.gz"] != before["train/data-00000-of-00001.tfrecord.gz"]
    assert sorted(os.listdir(data)) == ["eval", "info.json", "train"]  # no backup left behind


def test_no_metadata_no_resume(tmp_path):
    config = load_pipeline_config(overrides={"metadata_path": str(tmp_path / "none.sqlite")})
    assert interrupted_run(config) is None
