"""Stage probes: one linear classifier per depth, one accuracy per stage."""

import dataclasses

import keras
import numpy as np

from deeprob_keras.transfer import default_probe_layers, stage_probes


def test_one_accuracy_per_stage(pretrained_path, target_data):
    source = keras.saving.load_model(pretrained_path)
    layers = default_probe_layers(source)
    assert layers == ["stage0", "stage1", "features"]
    data = dataclasses.replace(target_data, test=target_data.test.take(8))  # 512 test images
    results = stage_probes(source, layers, data, epochs=5)
    assert list(results) == layers
    assert all(0.0 <= v <= 1.0 for v in results.values())
    # the probes learn something: above chance (0.2) on 5 classes
    assert max(results.values()) > 0.3


def test_probes_on_images_that_need_the_adapter(pretrained_path):
    """digits at 8x8 go through an ImageAdapter to the backbone's 28x28."""
    from deeprob_keras.data import load_datasets
    from deeprob_keras.transfer import ImageAdapter

    data = load_datasets("digits", batch_size=64, examples_per_class=10)
    source = keras.saving.load_model(pretrained_path)
    adapter = ImageAdapter(size=(28, 28), channels=1)
    results = stage_probes(source, ["stage1"], data, epochs=3, adapter=adapter)
    assert set(results) == {"stage1"} and np.isfinite(results["stage1"])
