"""build_callbacks: turn the recipe's `callbacks` section into Keras callbacks, in a safe order."""

import os

import keras

from deeprob_keras.callbacks.best_checkpoint import BestCheckpoint, monitor_mode, read_best_value
from deeprob_keras.callbacks.history_csv import HistoryCSV
from deeprob_keras.callbacks.learning_curves import LearningCurves
from deeprob_keras.callbacks.non_finite_loss_stop import NonFiniteLossStop
from deeprob_keras.callbacks.snapshot_ensemble import SnapshotEnsemble
from deeprob_keras.callbacks.update_ratio_monitor import UpdateRatioMonitor


def build_callbacks(spec, out_dir, optimizer_spec, snapshot_steps=None):
    """The callbacks of a training run, from `CallbacksSpec` and `OptimizerSpec`.

    Keras calls callbacks in list order, and several of them read or swap the
    weights, so the order is part of the contract:

    1. `BackupAndRestore(out_dir/backup)` (spec.backup): first, so that at the
       end of an epoch it saves the *raw* weights and the optimizer (with its
       EMA averages) before SwapEMAWeights swaps them; it restores them when a
       crashed run is started again.
    2. `NonFiniteLossStop` (spec.terminate_on_nan): stops at the first NaN/Inf
       batch loss.
    3. `UpdateRatioMonitor` (spec.update_ratio_every): batch-level, raw weights;
       adds `update_ratio_mean` to the epoch logs before the loggers read them.
    4. `SnapshotEnsemble(out_dir/snapshots)` (spec.snapshots, needs
       `snapshot_steps`): raw weights at the cycle ends.
    5. `SwapEMAWeights(swap_on_epoch=True)` (optimizer_spec.use_ema): validation
       runs on the averaged weights, and the callbacks below it see the averaged
       weights at the end of every epoch, so the best checkpoint and the weights
       restored by early stopping are the averaged ones.
    6. `BestCheckpoint(out_dir/best.keras)` on spec.monitor (a best-only
       `ModelCheckpoint` that writes its best value to `best.keras.json`; when a
       crashed run resumes from `backup/`, it starts from that value, so a worse
       epoch after the resume cannot overwrite the best checkpoint). With
       `spec.restore_best`, `train_recipe` evaluates and exports these weights.
    7. `EarlyStopping(restore_best_weights=True)` on spec.monitor
       (spec.early_stopping_patience). Its restore runs after `fit`'s own final
       EMA copy, so the model ends with the best epoch's (averaged) weights.
    8. `LearningCurves(out_dir/learning_curves.png)`, `HistoryCSV(out_dir/history.csv)`,
       `TensorBoard(out_dir/tensorboard)`: last, so they log everything above.

    Args:
        spec: `deeprob_keras.recipe.schema.CallbacksSpec`.
        out_dir: the run's output directory (created).
        optimizer_spec: `OptimizerSpec`; only `use_ema` is read here (the
            optimizer builder sets `use_ema`/`ema_momentum` on the optimizer).
        snapshot_steps: global steps where cosine-restart cycles end; required
            when `spec.snapshots`.

    Returns:
        A list of `keras.callbacks.Callback`.
    """
    if not out_dir:
        raise ValueError(f"Expected an output directory. Received: out_dir={out_dir!r}")
    if spec.snapshots and not snapshot_steps:
        raise ValueError(
            "callbacks.snapshots needs the cycle-end steps of the cosine_restarts schedule. "
            f"Received: snapshot_steps={snapshot_steps}")
    os.makedirs(out_dir, exist_ok=True)
    mode = monitor_mode(spec.monitor)
    callbacks = []
    if spec.backup:
        # Kept after `fit`: train_recipe removes it once metrics.json is written (run_dir.finish),
        # so that a crash during evaluation or export still resumes.
        callbacks.append(keras.callbacks.BackupAndRestore(os.path.join(out_dir, "backup"), delete_checkpoint=False))
    if spec.terminate_on_nan:
        callbacks.append(NonFiniteLossStop())
    if spec.update_ratio_every:
        callbacks.append(UpdateRatioMonitor(
            every=spec.update_ratio_every, band=tuple(spec.update_ratio_band),
            log_dir=os.path.join(out_dir, "tensorboard", "update_ratio")))
    if spec.snapshots:
        callbacks.append(SnapshotEnsemble(snapshot_steps, directory=os.path.join(out_dir, "snapshots")))
    if optimizer_spec.use_ema:
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    # A resumed run keeps the epochs (and the best value) logged before the crash.
    resuming = spec.backup and os.path.isdir(os.path.join(out_dir, "backup"))
    best_path = os.path.join(out_dir, "best.keras")
    callbacks.append(BestCheckpoint(
        best_path, monitor=spec.monitor, mode=mode,
        initial_value_threshold=read_best_value(best_path, spec.monitor) if resuming else None))
    if spec.early_stopping_patience:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=spec.monitor, mode=mode, patience=spec.early_stopping_patience,
            restore_best_weights=True))
    callbacks.append(LearningCurves(os.path.join(out_dir, "learning_curves.png")))
    callbacks.append(HistoryCSV(os.path.join(out_dir, "history.csv"), append=resuming))
    callbacks.append(keras.callbacks.TensorBoard(os.path.join(out_dir, "tensorboard")))
    return callbacks
