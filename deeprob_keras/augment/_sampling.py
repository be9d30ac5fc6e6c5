"""Random parameter sampling shared by the batch-level augmentations."""

import keras
from keras import ops

from deeprob_keras import validation


def check_positive_float(value, name):
    """Returns `float(value)`; raises unless `value` is a finite number > 0."""
    return validation.positive_number(name, value)


def check_probability(value, name):
    """Returns `float(value)`; raises unless 0 <= value <= 1."""
    return validation.probability(name, value)


def sample_beta(shape, alpha, seed):
    """lambda ~ Beta(alpha, alpha) as G1 / (G1 + G2), G_i ~ Gamma(shape=alpha, scale=1).

    `alpha` is the Gamma *shape* (concentration), not its rate (keras-cv#1361).
    The Gammas are drawn in float64 so that small alphas do not underflow to 0/0.
    """
    g1 = keras.random.gamma(shape, alpha, dtype="float64", seed=seed)
    g2 = keras.random.gamma(shape, alpha, dtype="float64", seed=seed)
    total = g1 + g2
    lam = ops.where(total > 0, g1 / ops.maximum(total, 1e-300), 0.5)
    return ops.cast(lam, "float32")


def sample_permutation(batch_size, seed):
    """A random permutation of range(batch_size): the partner of each example."""
    return keras.random.shuffle(ops.arange(batch_size, dtype="int32"), seed=seed)
