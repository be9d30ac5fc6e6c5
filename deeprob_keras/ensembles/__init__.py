"""Ensembles of models (independent runs or snapshots of one run)."""

from deeprob_keras.ensembles.ensemble import Ensemble, average_probabilities

__all__ = ["Ensemble", "average_probabilities"]
