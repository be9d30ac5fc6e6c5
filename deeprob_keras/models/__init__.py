"""Models built from a recipe's `model` section."""

from deeprob_keras.models.build import build_model
from deeprob_keras.models.small_resnet import mlp, residual_block, small_resnet
