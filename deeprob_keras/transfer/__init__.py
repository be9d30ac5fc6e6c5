"""Transfer learning techniques: pretrained backbones, feature extraction, fine-tuning, stage probes, the lecture's advice.

The two-phase driver (`train_transfer`, `phase_recipes`) is in `deeprob_keras.training.two_phase`;
the `deeprob transfer` commands are in `deeprob_keras.transfer_cli`.
"""

from deeprob_keras.transfer.backbones import APPLICATIONS, cut_model, load_backbone
from deeprob_keras.transfer.decision import Advice, advise, similarity_from_probes
from deeprob_keras.transfer.feature_extraction import build_head, freeze_backbone
from deeprob_keras.transfer.fine_tuning import set_fine_tune_layers, transfer_learning_rate, weighted_layers
from deeprob_keras.transfer.image_adapter import ImageAdapter, adapt_images
from deeprob_keras.transfer.inference_mode import InferenceMode
from deeprob_keras.transfer.model import build_transfer_model, copy_weights, get_backbone
from deeprob_keras.transfer.probes import default_probe_layers, probe_accuracies, stage_probes

__all__ = [
    "APPLICATIONS", "cut_model", "load_backbone", "Advice", "advise", "similarity_from_probes",
    "build_head", "freeze_backbone", "set_fine_tune_layers", "transfer_learning_rate", "weighted_layers",
    "ImageAdapter", "adapt_images", "InferenceMode", "build_transfer_model", "copy_weights", "get_backbone",
    "default_probe_layers", "probe_accuracies", "stage_probes",
]
