"""Stochastic depth (Huang et al., 2016): drop whole residual branches per sample."""

import keras
from keras import ops

from deeprob_keras.layers._checks import validate_rate, validate_seed


def drop_path(x, rate, training=False, seed=None):
    """Zeroes each sample's `x` with probability `rate`, scales survivors by 1/(1-rate).

    Training: `y_n = x_n * b_n / (1 - rate)`, `b_n ~ Bernoulli(1 - rate)` per sample n.
    Inference: `y = x`.

    Huang et al. keep the branch unscaled in training and multiply it by the
    survival probability `p = 1 - rate` at test time. This is the inverted
    form (as in timm / keras-cv `DropPath`): `E[y_train] = x`, so
    `shortcut + E[y_train]` equals the paper's test output `shortcut + p * f(x)`
    up to the constant factor 1/p on the branch, which the next weights absorb.

    Args:
        x: tensor `(batch, ...)`, the residual branch.
        rate: float in [0, 1), probability of dropping the branch.
        training: bool.
        seed: int, `keras.random.SeedGenerator` or None.

    Example:
    >>> y = drop_path(keras.ops.ones((4, 3)), rate=0.5, training=True, seed=0)
    """
    rate = validate_rate(rate)
    if not training or rate == 0.0:
        return x
    shape = (ops.shape(x)[0],) + (1,) * (len(x.shape) - 1)
    keep = keras.random.uniform(shape, seed=seed, dtype=x.dtype) >= rate
    return ops.where(keep, x / (1.0 - rate), ops.zeros_like(x))


def linear_decay_rates(max_rate, num_blocks):
    """Per-block drop rates growing linearly with depth: `rate_i = max_rate * (i + 1) / num_blocks`.

    Huang et al.'s linear decay rule (survival `p_l = 1 - l / L * (1 - p_L)`),
    with blocks numbered from 0; the deepest block gets `max_rate`.

    Example:
    >>> linear_decay_rates(0.5, 4)
    [0.125, 0.25, 0.375, 0.5]
    """
    max_rate = validate_rate(max_rate, "max_rate")
    if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks < 1:
        raise ValueError(
            f"Expected an int >= 1 for argument `num_blocks`. Received: num_blocks={num_blocks}")
    return [max_rate * (i + 1) / num_blocks for i in range(num_blocks)]


@keras.saving.register_keras_serializable(package="deeprob")
class StochasticDepth(keras.layers.Layer):
    """Randomly drops a residual branch for each sample during training.

    Called on `[shortcut, branch]` it returns `shortcut + drop_path(branch)`;
    called on `branch` alone it returns `drop_path(branch)` (add the shortcut
    yourself). Training: `y_n = s_n + b_n f(x)_n / (1 - rate)` with
    `b_n ~ Bernoulli(1 - rate)` drawn per sample; inference: `y = s + f(x)`,
    which equals the expected training output (see `drop_path`). Unlike
    `keras_cv.layers.StochasticDepth`, which drops the branch for the whole
    batch at once, the draw is per sample.

    Args:
        rate: float in [0, 1), probability of dropping the branch. Default 0.1.
        seed: int or None.

    Call arguments:
        inputs: `[shortcut, branch]` (same shapes) or `branch`.
        training: bool.

    Example:
    >>> x = keras.Input((8, 8, 16))
    >>> y = StochasticDepth(0.2)([x, keras.layers.Conv2D(16, 3, padding="same")(x)])
    """

    def __init__(self, rate=0.1, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = validate_rate(rate)
        self.seed = validate_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != 2:
                raise ValueError(
                    f"StochasticDepth expects [shortcut, branch]. Received: {len(inputs)} inputs")
            shortcut, branch = inputs
            return shortcut + drop_path(branch, self.rate, training, self.seed_generator)
        return drop_path(inputs, self.rate, training, self.seed_generator)

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, (list, tuple)) and input_shape and isinstance(input_shape[0], (list, tuple)):
            return tuple(input_shape[0])
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
