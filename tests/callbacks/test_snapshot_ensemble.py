import os

import numpy as np
import pytest

import keras

from deeprob_keras.callbacks import SnapshotEnsemble


def test_snapshots_at_the_given_global_steps(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(24, 3)).astype("float32")
    y = rng.normal(size=(24, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    after = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            after.append(self.model.get_weights())

    cb = SnapshotEnsemble(steps=[2, 6, 9], directory=str(tmp_path / "snaps"))
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[Record(), cb])  # 12 steps
    assert cb.snapshot_steps == [2, 6, 9]
    assert len(cb.snapshots) == 3
    for snap, step in zip(cb.snapshots, [2, 6, 9]):
        for a, b in zip(snap, after[step - 1]):
            np.testing.assert_array_equal(a, b)
    assert sorted(os.listdir(tmp_path / "snaps")) == [f"snapshot_{i}.weights.h5" for i in range(3)]
    clone = keras.models.clone_model(model)
    clone.load_weights(str(tmp_path / "snaps" / "snapshot_1.weights.h5"))
    np.testing.assert_array_equal(clone.get_weights()[0], after[5][0])


def test_bad_arguments_and_config():
    for steps in ([], [0, 5], [5, 5], [10, 3]):
        with pytest.raises(ValueError, match="steps"):
            SnapshotEnsemble(steps)
    cb = SnapshotEnsemble.from_config(SnapshotEnsemble([3, 7], directory="d").get_config())
    assert (cb.steps, cb.directory) == ([3, 7], "d")
