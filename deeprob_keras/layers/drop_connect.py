"""DropConnect (Wan et al., 2013): drop weights, not activations."""

import keras
from keras import ops

from deeprob_keras.layers._checks import validate_rate, validate_seed


def drop_connect(kernel, rate, seed=None):
    """Drops each entry of `kernel` with probability `rate`, inverted scaling.

    `W' = W * M / (1 - rate)`, `M_ij ~ Bernoulli(1 - rate)`, so `E[W'] = W`.

    Args:
        kernel: weight tensor of any shape.
        rate: float in [0, 1), probability of dropping a weight.
        seed: int, `keras.random.SeedGenerator` or None.

    Returns:
        A tensor shaped like `kernel`.

    Example:
    >>> w = drop_connect(keras.ops.ones((3, 4)), rate=0.5, seed=1)
    """
    rate = validate_rate(rate)
    if rate == 0.0:
        return kernel
    keep = keras.random.uniform(ops.shape(kernel), seed=seed, dtype=kernel.dtype) >= rate
    return ops.where(keep, kernel / (1.0 - rate), ops.zeros_like(kernel))


@keras.saving.register_keras_serializable(package="deeprob")
class DropConnectDense(keras.layers.Dense):
    """Dense layer whose weights are dropped at random during training.

    In training, each kernel entry is zeroed with probability `rate` and the
    kept ones are scaled by `1 / (1 - rate)`:
    `y = act(x @ (W * M / (1 - rate)) + b)`, `M_ij ~ Bernoulli(1 - rate)`,
    so `E[y_pre-activation] = x @ W + b`, the inference output, which uses all
    connections (`y = act(x @ W + b)`). The bias is never dropped.

    One mask is drawn per call and shared by every sample of the batch (the
    paper draws one per sample; a per-batch mask costs one kernel-sized draw
    instead of batch_size of them and has the same expectation).

    Args:
        units: positive int, output dimension.
        rate: float in [0, 1), probability of dropping a weight. Default 0.5.
        seed: int or None, seed of the mask generator.
        **kwargs: any other `keras.layers.Dense` argument (activation,
            use_bias, initializers, regularizers, constraints).

    Call arguments:
        inputs: tensor `(..., input_dim)`.
        training: bool; masks are drawn only when True.

    Example:
    >>> layer = DropConnectDense(10, rate=0.5, activation="softmax")
    >>> y = layer(keras.ops.ones((2, 8)), training=True)
    """

    def __init__(self, units, rate=0.5, seed=None, **kwargs):
        super().__init__(units, **kwargs)
        self.rate = validate_rate(rate)
        self.seed = validate_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        kernel = self.kernel
        if training and self.rate > 0:
            kernel = drop_connect(kernel, self.rate, self.seed_generator)
        x = ops.matmul(inputs, kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        if self.activation is not None:
            x = self.activation(x)
        return x

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
