"""Losses: cross-entropy with label smoothing for sparse and soft targets."""

from deeprob_keras.losses.label_smoothing import SmoothedCrossentropy, smooth_labels

__all__ = ["SmoothedCrossentropy", "smooth_labels"]
