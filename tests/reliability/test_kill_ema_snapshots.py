"""The README's promise: `deeprob train` killed with SIGKILL mid-epoch, then the same command,
resumes at the next epoch without redoing any, keeps the history CSV, and (for a recipe with EMA
and snapshot ensembles) loses no snapshot; the snapshots, the exported ensemble and the EMA
checkpoint equal those of a run never killed (the training order and the augmentation's draws are
keyed by (seed, epoch): `deeprob_keras.data.epoch_order`). One killed run and one clean run serve
every test here (each `deeprob train` costs ~30 s of process start, data, evaluation and export).
`SnapshotEnsemble._reload_saved` on its own."""

import json
import os
import signal
import subprocess
import time

import h5py
import keras
import numpy as np
import pytest

from deeprob_keras.callbacks import SnapshotEnsemble
from tests.reliability.test_crash_and_faults import DEEPROB, _history_rows, _small_recipe

# Stated tolerance between the resumed and the never-killed run. Both start from the same seed
# and resume at an epoch boundary from BackupAndRestore, with each epoch's data order and
# augmentation draws keyed by (seed, epoch); what can differ is float summation order,
# measured at ~1e-4 relative on the same-seed loss (test_same_seed_same_first_epoch_loss).
# Snapshots 0 and 1 of two runs agree within it; a different data order moves weights by ~0.2.
ATOL, RTOL = 2e-3, 2e-2
EPOCHS = 4


def _h5_arrays(path):
    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, obj: arrays.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None)
    return arrays


def _assert_close(a, b, what):
    assert a.keys() == b.keys(), f"{what}: different entries"
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=ATOL, rtol=RTOL, err_msg=f"{what}: {key}")


@pytest.fixture(scope="module")
def killed_and_clean(tmp_path_factory):
    """A run SIGKILLed in its third epoch and rerun with the same command, and a run never killed."""
    tmp_path = tmp_path_factory.mktemp("kill_ema_snapshots")
    recipe = _small_recipe(tmp_path, **{
        "data.limit_examples": 6144, "training.epochs": EPOCHS, "augmentation.flip": True, "augmentation.translate": 1,
        "optimizer.use_ema": True, "optimizer.ema_momentum": 0.9,
        "schedule.name": "cosine_restarts", "schedule.cycle_epochs": 1.0, "callbacks.snapshots": True})
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    cmd = [DEEPROB, "train", str(recipe), "--out", str(killed)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while _history_rows(killed) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    time.sleep(0.5)  # into the third epoch: snapshots 0 and 1 are on disk, 2 is not
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = _history_rows(killed)
    assert 2 <= done < EPOCHS, f"killed after {done} of {EPOCHS} epochs: not mid-run"
    assert (killed / "snapshots" / "snapshot_1.weights.h5").exists()
    assert not (killed / "snapshots" / f"snapshot_{EPOCHS - 1}.weights.h5").exists()
    assert (killed / "backup").exists(), "no backup left after the kill"
    assert not (killed / "metrics.json").exists()
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    baseline = subprocess.run([DEEPROB, "train", str(recipe), "--out", str(clean)],
                              capture_output=True, text=True, timeout=900)
    assert baseline.returncode == 0, baseline.stderr[-4000:]
    return killed, clean, done, resumed.stdout


@pytest.mark.long  # the shared fixture trains 3 runs (~4 min on 2 cores): `make test-long`
def test_sigkill_mid_epoch_then_same_command_resumes(killed_and_clean):
    killed, clean, done, stdout = killed_and_clean
    # BackupAndRestore runs before CSVLogger at each epoch end, so every epoch in the CSV is also
    # in the backup: the resumed run starts right after the last logged epoch, nothing redone.
    first_epoch_line = [l for l in stdout.splitlines() if l.startswith("Epoch ")][0]
    assert first_epoch_line.startswith(f"Epoch {done + 1}/{EPOCHS}"), (first_epoch_line, done)
    assert _history_rows(killed) == EPOCHS  # the history CSV kept the epochs before the kill
    assert not (killed / "backup").exists()  # removed once the run completed
    m_killed = json.loads((killed / "metrics.json").read_text())
    m_clean = json.loads((clean / "metrics.json").read_text())
    assert m_killed["epochs_run"] == m_clean["epochs_run"] == EPOCHS
    # Same data, same seed, same schedule position: accuracy within noise (the binomial std of an
    # accuracy near 0.8 on the 10,000 test images is ~0.4 points); the weights are compared below.
    assert abs(m_killed["test_accuracy"] - m_clean["test_accuracy"]) < 0.05


@pytest.mark.long  # the shared fixture trains 3 runs (~4 min on 2 cores): `make test-long`
def test_sigkill_mid_run_with_ema_and_snapshots_loses_no_snapshot(killed_and_clean):
    killed, clean, done, _ = killed_and_clean
    # The snapshots written before the kill are reloaded from disk and equal the unkilled run's.
    for i in range(done):
        name = f"snapshot_{i}.weights.h5"
        _assert_close(_h5_arrays(killed / "snapshots" / name), _h5_arrays(clean / "snapshots" / name), name)
    m_killed = json.loads((killed / "metrics.json").read_text())
    m_clean = json.loads((clean / "metrics.json").read_text())
    assert m_killed["snapshots"] == m_clean["snapshots"] == EPOCHS  # one per cycle, none lost or doubled


@pytest.mark.long  # the shared fixture trains 3 runs (~4 min on 2 cores): `make test-long`
def test_weights_after_the_resume_equal_the_unkilled_run(killed_and_clean):
    killed, clean, done, _ = killed_and_clean
    for i in range(done, EPOCHS):
        name = f"snapshot_{i}.weights.h5"
        _assert_close(_h5_arrays(killed / "snapshots" / name), _h5_arrays(clean / "snapshots" / name), name)
    # The exported model (the ensemble of the snapshots) and the best checkpoint (EMA weights).
    import deeprob_keras

    for name in ("model.keras", "best.keras"):
        got = deeprob_keras.load_model(str(killed / name)).get_weights()
        want = deeprob_keras.load_model(str(clean / name)).get_weights()
        assert len(got) == len(want)
        _assert_close(dict(enumerate(got)), dict(enumerate(want)), name)


def _tiny_model(seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Dense(4)(inputs)))


def test_reload_saved_reads_the_snapshots_on_disk_in_order_and_stops_at_a_gap(tmp_path):
    directory = str(tmp_path / "snapshots")
    saved = []
    for i in range(2):  # what a killed run left: snapshots 0 and 1, not 2
        model = _tiny_model(i)
        writer = SnapshotEnsemble([10, 20, 30], directory=directory)
        writer.set_model(model)
        writer.snapshots = [None] * i  # the file index is the number of snapshots so far
        writer._take(10 * (i + 1))
        saved.append(model.get_weights())
    assert sorted(os.listdir(directory)) == ["snapshot_0.weights.h5", "snapshot_1.weights.h5"]

    reader = SnapshotEnsemble([10, 20, 30], directory=directory)
    reader.set_model(_tiny_model(7))  # other current weights: the snapshots come from the files
    current = reader.model.get_weights()
    reader._reload_saved(3)  # asks for 3, finds 2
    assert reader.snapshot_steps == [10, 20]
    for got, want in zip(reader.snapshots, saved):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(reader.model.get_weights(), current):  # the model itself is untouched
        np.testing.assert_array_equal(a, b)
    reader._reload_saved(2)  # already has them: nothing is read or added
    assert len(reader.snapshots) == 2

    no_dir = SnapshotEnsemble([10, 20], directory=None)
    no_dir.set_model(_tiny_model(0))
    no_dir._reload_saved(2)
    assert no_dir.snapshots == []
