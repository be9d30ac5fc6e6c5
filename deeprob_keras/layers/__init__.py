"""Layers: DropConnect, fractional max pooling, stochastic depth, penalties, progressive resizing, fused BatchNorm.

Dropout itself is Keras's: `keras.layers.Dropout` is already inverted dropout.
"""

from deeprob_keras.layers.drop_connect import DropConnectDense, drop_connect
from deeprob_keras.layers.fractional_max_pooling_2d import FractionalMaxPooling2D
from deeprob_keras.layers.fused_batch_normalization import FusedBatchNormalization
from deeprob_keras.layers.heads import classifier_head
from deeprob_keras.layers.mc_average import MCAverage, mc_average_predictions, stochastic_inference
from deeprob_keras.layers.progressive_resize import ProgressiveResize, progressive_sizes
from deeprob_keras.layers.penalties import apply_weight_penalty, build_kernel_regularizer, kernel_regularizer
from deeprob_keras.layers.stochastic_depth import StochasticDepth, drop_path, linear_decay_rates

__all__ = [
    "DropConnectDense", "drop_connect", "FractionalMaxPooling2D", "classifier_head", "MCAverage", "mc_average_predictions",
    "stochastic_inference", "StochasticDepth", "drop_path", "linear_decay_rates",
    "kernel_regularizer", "build_kernel_regularizer", "apply_weight_penalty", "ProgressiveResize", "progressive_sizes",
    "FusedBatchNormalization",
]
