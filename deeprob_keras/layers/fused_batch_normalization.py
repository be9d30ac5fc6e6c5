"""Batch normalization through TensorFlow's fused kernel: the same layer, one op forward and one backward.

Keras 3's `BatchNormalization` is backend-neutral: in training it casts the
activations to float32, computes the batch moments (`ops.moments`), normalizes
with separate elementwise ops and casts back, each a pass over the activation
map, and as many again for the gradient. On a CPU those passes are memory-bound:
on the wide 4-stage network (widths 16-64-128-256, 28x28 images, bfloat16 on an
AMD EPYC, 2 cores) the BatchNorms were 28 % of the training step (without
them: 118.7 ms against 164.4 ms a step). TensorFlow's `FusedBatchNormV3`
(oneDNN's batch normalization on x86) does the same arithmetic in one kernel
per direction; the step fell to 127.7 ms, and 1.25-1.31x on the three recipes
measured (benchmarks/results/fused_batch_norm.md).
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="deeprob")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` computed by TensorFlow's fused kernel where it applies.

    Same arguments, variables, formula and saved config as Keras's layer: in training
    `y = gamma (x - mu_B) / sqrt(sigma_B^2 + eps) + beta` with the batch's mean and
    biased variance over (batch, height, width), and the moving statistics updated as
    `m <- momentum m + (1 - momentum) mu_B`, `v <- momentum v + (1 - momentum) sigma_B^2`;
    at inference the moving statistics replace the batch's. The fused op returns the
    Bessel-corrected variance `n / (n - 1) sigma_B^2` for the moving average; this layer
    undoes the correction, so that the moving statistics match Keras's layer.

    The kernel normalizes 4-D channels-last inputs (`axis=-1` or `3`) on the TensorFlow
    backend, float32 or bfloat16 (the statistics in float32 either way); anything else
    (another rank or axis, a mask, `synchronized=True`, another backend) goes through
    Keras's own computation.

    Example:
    >>> x = keras.layers.Conv2D(16, 3, padding="same", use_bias=False)(inputs)
    >>> x = FusedBatchNormalization(momentum=0.9)(x)
    """

    def _fused_applies(self, inputs, mask):
        return (mask is None and len(inputs.shape) == 4 and self.axis in (3, -1) and not self.synchronized
                and keras.backend.backend() == "tensorflow")

    def call(self, inputs, training=None, mask=None):
        if not self._fused_applies(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        channels = inputs.shape[-1]
        scale = tf.cast(self.gamma, "float32") if self.scale else tf.ones((channels,), "float32")
        offset = tf.cast(self.beta, "float32") if self.center else tf.zeros((channels,), "float32")
        if inputs.dtype not in (tf.float32, tf.bfloat16):
            inputs = tf.cast(inputs, "float32")
        if training and self.trainable:
            outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                inputs, scale, offset, epsilon=self.epsilon, data_format="NHWC", is_training=True)
            n = tf.cast(tf.reduce_prod(tf.shape(inputs)[:3]), "float32")
            variance = variance * tf.maximum(n - 1.0, 1.0) / n  # back to the biased batch variance
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
                inputs, scale, offset, mean=tf.cast(self.moving_mean, "float32"),
                variance=tf.cast(self.moving_variance, "float32"), epsilon=self.epsilon, data_format="NHWC",
                is_training=False)
        return tf.cast(outputs, self.compute_dtype)
