"""Callbacks: EMA helpers, snapshots, update/weight ratios, learning curves, NaN stop, the builder."""

from deeprob_keras.callbacks.best_checkpoint import BestCheckpoint, read_best_value
from deeprob_keras.callbacks.build import build_callbacks
from deeprob_keras.callbacks.ema import ema_update, finalize_ema
from deeprob_keras.callbacks.history_csv import HistoryCSV
from deeprob_keras.callbacks.learning_curves import LearningCurves, moving_average, plot_history
from deeprob_keras.callbacks.non_finite_loss_stop import NonFiniteLossStop
from deeprob_keras.callbacks.progressive_resizing import ProgressiveResizing
from deeprob_keras.callbacks.snapshot_ensemble import SnapshotEnsemble
from deeprob_keras.callbacks.update_ratio_monitor import UpdateRatioMonitor, update_ratio

__all__ = [
    "BestCheckpoint", "HistoryCSV", "LearningCurves", "NonFiniteLossStop", "ProgressiveResizing", "SnapshotEnsemble", "UpdateRatioMonitor",
    "build_callbacks", "ema_update", "finalize_ema", "moving_average", "plot_history", "read_best_value", "update_ratio",
]
