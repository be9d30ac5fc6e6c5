"""`InferenceMode`: run a wrapped backbone in inference mode, even inside `fit`.

Keras 3 functional models forward the outer call's `training` flag to every
layer that accepts one, overriding a `training=False` written when the graph
was built: `backbone(x, training=False)` inside a functional model is NOT
enough (verified on Keras 3.12: the BatchNorm moving statistics still move;
see keras#20285). This wrapper ignores the outer flag and always calls the
wrapped layer with `training=False`, so BatchNorm uses and keeps its moving
statistics (and dropout / stochastic depth are off) while the wrapped layer's
trainable weights (convolutions, BN gamma/beta) still receive gradients.
"""

import keras


@keras.saving.register_keras_serializable(package="deeprob")
class InferenceMode(keras.layers.Wrapper):
    """Calls the wrapped layer (usually a backbone model) in inference mode.

    In training and at inference alike the wrapped layer runs with
    `training=False`; with `enabled=False` the wrapper passes `training`
    through unchanged (the backbone's BatchNorm then uses batch statistics
    and updates its moving averages whenever its layers are trainable).

    Args:
        layer: the `keras.layers.Layer` or `keras.Model` to wrap.
        enabled: bool, default True. Force inference mode.

    Call arguments:
        inputs: the wrapped layer's inputs.
        training: ignored when `enabled`, otherwise passed on.

    Example:
        >>> x = InferenceMode(backbone, name="backbone")(inputs)
    """

    def __init__(self, layer, enabled=True, **kwargs):
        if not isinstance(enabled, bool):
            raise ValueError(f"Expected enabled to be True or False. Received: enabled={enabled!r}")
        super().__init__(layer, **kwargs)
        self.enabled = enabled

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
        self.built = True

    def call(self, inputs, training=None):
        return self.layer(inputs, training=False if self.enabled else training)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "enabled": self.enabled}
