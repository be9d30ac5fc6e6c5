"""Fractional max pooling (Graham, 2014) with Keras-seeded random regions."""

import math

import keras
import tensorflow as tf

_INFERENCE_MODES = ("fixed", "random")


def pooled_size(input_size, pooling_ratio):
    """Output length of fractional pooling: `floor(input_size / pooling_ratio)`."""
    return int(math.floor(input_size / pooling_ratio))


def fixed_pooling_sequence(input_size, output_size):
    """Evenly spaced boundaries `b_i = ceil(i * input_size / output_size)`, i = 0..out.

    This is Graham's pseudo-random sequence with its offset `u` set to 0:
    every region has `floor(alpha)` or `floor(alpha) + 1` cells, alpha = in/out.
    """
    return tf.constant([-(-i * input_size // output_size) for i in range(output_size + 1)], tf.int64)


def sample_pooling_sequence(input_size, output_size, pseudo_random, seed=None):
    """Draws region boundaries `0 = b_0 < b_1 < ... < b_out = input_size`.

    Every increment is `k = floor(input_size / output_size)` or `k + 1`.

    - `pseudo_random=True`: `b_i = ceil(alpha * (i + u)) - 1` for 0 < i < out,
      `alpha = input_size / output_size`, one uniform offset `u` (Graham's
      pseudo-random sequence; `u` is capped so increments stay in {k, k+1}).
    - `pseudo_random=False`: the `input_size - k * output_size` increments of
      size `k + 1` are placed at uniformly random positions (random sequence).

    Args:
        input_size, output_size: python ints, `output_size <= input_size`.
        pseudo_random: bool.
        seed: int, `keras.random.SeedGenerator` or None.

    Returns:
        int64 tensor of shape `(output_size + 1,)`.
    """
    alpha = input_size / output_size
    k = input_size // output_size
    if pseudo_random:
        max_u = min((k + 2) / alpha - 1, (input_size + 1 - k) / alpha - (output_size - 1))
        u = keras.random.uniform((), 0.0, max_u, seed=seed, dtype="float64")
        i = tf.range(1, output_size, dtype=tf.float64)
        inner = tf.cast(tf.math.ceil(alpha * (i + tf.cast(u, tf.float64))), tf.int64) - 1
        return tf.concat([[0], inner, [input_size]], axis=0)
    n_big = input_size - k * output_size
    steps = tf.constant([k + 1] * n_big + [k] * (output_size - n_big), tf.int64)
    steps = keras.random.shuffle(steps, seed=seed)
    return tf.concat([[0], tf.cumsum(steps)], axis=0)


def _pool_axis(x, boundaries, axis, overlapping):
    """Max over the regions `[b_i, b_{i+1})` (`[b_i, b_{i+1}]` if overlapping) of `axis`.

    A region holds at most `ceil(size / num_regions)` (+1 if overlapping) cells:
    the max of that many gathers, each clamped to the region's last cell.
    """
    size = x.shape[axis]
    num_regions = int(boundaries.shape[0]) - 1
    start, last = boundaries[:-1], boundaries[1:] - 1
    if overlapping:
        last = tf.minimum(last + 1, size - 1)
    span = -(-size // num_regions) + (1 if overlapping else 0)
    pooled = tf.gather(x, start, axis=axis)
    for offset in range(1, span):
        pooled = tf.maximum(pooled, tf.gather(x, tf.minimum(start + offset, last), axis=axis))
    return pooled


def fractional_max_pool(x, row_boundaries, col_boundaries, overlapping=False):
    """Max pooling of `x` (NHWC) over the regions given by two boundary sequences.

    `y[n, i, j, c] = max x[n, r_i:r_{i+1}, c_j:c_{j+1}, c]` (the upper bounds
    are inclusive when `overlapping`), with the same layout as the sequences
    that `tf.nn.fractional_max_pool` returns.
    """
    x = tf.convert_to_tensor(x)
    y = _pool_axis(x, tf.cast(row_boundaries, tf.int64), 1, overlapping)
    return _pool_axis(y, tf.cast(col_boundaries, tf.int64), 2, overlapping)


@keras.saving.register_keras_serializable(package="deeprob")
class FractionalMaxPooling2D(keras.layers.Layer):
    """Fractional max pooling: downsampling by a non-integer ratio, random regions.

    Output size `H_out = floor(H / pooling_ratio)` (same for W). The input is
    split into `H_out x W_out` rectangular regions whose side lengths are
    `floor(alpha)` or `floor(alpha) + 1` (`alpha = H / H_out`), and each output
    is the max over its region.

    In training the region boundaries are drawn anew at every call (one draw
    per batch, shared by all samples and channels) from a
    `keras.random.SeedGenerator`. At inference, `inference_mode="fixed"` uses
    the deterministic evenly spaced boundaries `b_i = ceil(i * H / H_out)`;
    `inference_mode="random"` keeps drawing random regions, so that averaging
    K passes (`mc_average_predictions`) gives Graham's test-time ensemble.
    The attribute `stochastic_inference` (True iff inference_mode="random")
    can be switched at run time; `mc_average_predictions` does so.

    The regions are sampled here rather than by `tf.nn.fractional_max_pool`,
    whose randomness comes from static op seeds, not from a SeedGenerator; the
    pooling itself matches that op given the same sequences (tested).

    Args:
        pooling_ratio: float in (1, 2], default sqrt(2).
        pseudo_random: bool, pseudo-random (True) or random (False) sequences.
        overlapping: bool, adjacent regions share their boundary cell.
        seed: int or None.
        inference_mode: "fixed" or "random".

    Call arguments:
        inputs: 4D tensor `(batch, H, W, C)` with static H and W.
        training: bool.

    Example:
    >>> pool = FractionalMaxPooling2D(pooling_ratio=1.5)
    >>> pool(keras.ops.ones((2, 9, 9, 3))).shape
    TensorShape([2, 6, 6, 3])
    """

    def __init__(self, pooling_ratio=math.sqrt(2.0), pseudo_random=True, overlapping=False,
                 seed=None, inference_mode="fixed", **kwargs):
        super().__init__(**kwargs)
        if isinstance(pooling_ratio, bool) or not isinstance(pooling_ratio, (int, float)) \
                or not 1.0 < pooling_ratio <= 2.0:
            raise ValueError(
                f"Invalid value for argument `pooling_ratio`. Expected a float value in (1, 2]. "
                f"Received: pooling_ratio={pooling_ratio}")
        for name, value in (("pseudo_random", pseudo_random), ("overlapping", overlapping)):
            if not isinstance(value, bool):
                raise ValueError(f"Expected a bool for argument `{name}`. Received: {name}={value}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValueError(f"Expected an int or None for argument `seed`. Received: seed={seed}")
        if inference_mode not in _INFERENCE_MODES:
            raise ValueError(
                f"Invalid value for argument `inference_mode`. Expected one of {_INFERENCE_MODES}. "
                f"Received: inference_mode={inference_mode!r}")
        self.pooling_ratio = float(pooling_ratio)
        self.pseudo_random = pseudo_random
        self.overlapping = overlapping
        self.seed = seed
        self.inference_mode = inference_mode
        self.stochastic_inference = inference_mode == "random"
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _sizes(self, input_shape):
        if len(input_shape) != 4 or input_shape[1] is None or input_shape[2] is None:
            raise ValueError(
                f"FractionalMaxPooling2D expects a 4D input (batch, H, W, C) with static H and W. "
                f"Received: input_shape={tuple(input_shape)}")
        out = [pooled_size(s, self.pooling_ratio) for s in input_shape[1:3]]
        if min(out) < 1:
            raise ValueError(
                f"Input too small for pooling_ratio={self.pooling_ratio}: H and W must be >= "
                f"pooling_ratio. Received: input_shape={tuple(input_shape)}")
        return tuple(input_shape[1:3]), tuple(out)

    def build(self, input_shape):
        self._sizes(input_shape)

    def call(self, inputs, training=False):
        (h, w), (oh, ow) = self._sizes(inputs.shape)
        if training or self.stochastic_inference:
            rows = sample_pooling_sequence(h, oh, self.pseudo_random, self.seed_generator)
            cols = sample_pooling_sequence(w, ow, self.pseudo_random, self.seed_generator)
        else:
            rows, cols = fixed_pooling_sequence(h, oh), fixed_pooling_sequence(w, ow)
        return fractional_max_pool(inputs, rows, cols, self.overlapping)

    def compute_output_shape(self, input_shape):
        _, (oh, ow) = self._sizes(input_shape)
        return (input_shape[0], oh, ow, input_shape[3])

    def get_config(self):
        return {**super().get_config(), "pooling_ratio": self.pooling_ratio,
                "pseudo_random": self.pseudo_random, "overlapping": self.overlapping,
                "seed": self.seed, "inference_mode": self.inference_mode}
