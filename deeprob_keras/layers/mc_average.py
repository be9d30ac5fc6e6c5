"""Monte-Carlo averaging of predictions over stochastic inference passes."""

import contextlib

import keras
import numpy as np


def _stochastic_layers(model):
    return [layer for layer in model._flatten_layers(include_self=True, recursive=True)
            if hasattr(layer, "stochastic_inference")]


@contextlib.contextmanager
def stochastic_inference(model, enabled=True):
    """Sets `stochastic_inference` on every layer of `model` exposing it; restores on exit."""
    layers = _stochastic_layers(model)
    saved = [layer.stochastic_inference for layer in layers]
    try:
        for layer in layers:
            layer.stochastic_inference = enabled
        yield layers
    finally:
        for layer, value in zip(layers, saved):
            layer.stochastic_inference = value


def mc_average_predictions(model, x, num_samples=10, batch_size=None, from_logits=False):
    """Averages predicted probabilities over `num_samples` stochastic passes.

    `p(y | x) ~ 1/K sum_k f_k(x)`, where pass k draws new random choices only in
    the layers that expose a `stochastic_inference` attribute (e.g.
    `FractionalMaxPooling2D`: new pooling regions, Graham's test-time
    ensemble). The model runs with `training=False`, so Dropout is off and
    BatchNormalization uses its moving statistics: calling the model with
    `training=True` instead would switch those layers too.

    The passes run eagerly (`model(x, training=False)`): `stochastic_inference`
    is a Python attribute read at trace time, so a traced `predict` function
    would not see it change.

    Args:
        model: a Keras model returning probabilities (or logits, see below).
        x: input array or tensor.
        num_samples: int >= 1, K.
        batch_size: int or None (None: all of `x` at once).
        from_logits: bool, apply softmax to each pass before averaging.

    Returns:
        NumPy array of averaged probabilities.

    Example:
    >>> probs = mc_average_predictions(model, x_test, num_samples=12)
    """
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ValueError(f"Expected an int >= 1 for argument `num_samples`. Received: num_samples={num_samples}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                   or batch_size < 1):
        raise ValueError(f"Expected an int >= 1 or None for argument `batch_size`. Received: batch_size={batch_size}")
    x = np.asarray(x)
    step = batch_size or len(x)
    total = None
    with stochastic_inference(model, True):
        for _ in range(num_samples):
            outs = []
            for start in range(0, len(x), step):
                out = model(x[start:start + step], training=False)
                if from_logits:
                    out = keras.ops.softmax(out, axis=-1)
                outs.append(keras.ops.convert_to_numpy(out))
            probs = np.concatenate(outs, axis=0).astype("float64")
            total = probs if total is None else total + probs
    return (total / num_samples).astype("float32")


@keras.saving.register_keras_serializable(package="deeprob")
class MCAverage(keras.Model):
    """Wraps a model; its inference averages K stochastic passes (Graham's FMP test-time ensemble).

    `p(y | x) = 1/K sum_k f_k(x)`, pass k drawing new random choices in every
    layer that exposes `stochastic_inference` (e.g. `FractionalMaxPooling2D`:
    new pooling regions per pass). The wrapped model runs with `training=False`
    (Dropout off, BatchNorm moving statistics). Unlike `mc_average_predictions`,
    the K passes are part of the call, so they are traced into `predict`,
    `evaluate` and an exported SavedModel signature: a served model averages too.
    `num_samples=1` is the plain model (deterministic regions). Cost: K forward
    passes per prediction.

    Args:
        model: a Keras model returning probabilities (or logits with `from_logits=True`:
            softmax is applied to each pass before averaging).
        num_samples: int >= 1, K.
        from_logits: bool.

    Example:
    >>> averaged = MCAverage(model, num_samples=12)
    >>> probs = averaged.predict(x_test)
    """

    def __init__(self, model, num_samples=1, from_logits=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(model, keras.Model):
            raise ValueError(f"Expected a keras.Model for `model`. Received: model={model!r}")
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(f"Expected an int >= 1 for argument `num_samples`. Received: num_samples={num_samples}")
        if not isinstance(from_logits, bool):
            raise ValueError(f"Expected a bool for `from_logits`. Received: from_logits={from_logits}")
        self.base_model, self.num_samples, self.from_logits = model, num_samples, from_logits

    def _probs(self, inputs):
        out = self.base_model(inputs, training=False)
        return keras.ops.softmax(out, axis=-1) if self.from_logits else out

    def call(self, inputs, training=False):
        if self.num_samples == 1:
            return self._probs(inputs)
        # The attribute is read when the layers are called (at trace time in a tf.function):
        # setting it around the K calls puts K random draws into the traced graph.
        with stochastic_inference(self.base_model, True):
            passes = [self._probs(inputs) for _ in range(self.num_samples)]
        return keras.ops.mean(keras.ops.stack(passes, axis=0), axis=0)

    def compute_output_shape(self, input_shape):
        return self.base_model.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "model": keras.saving.serialize_keras_object(self.base_model),
                "num_samples": self.num_samples, "from_logits": self.from_logits}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["model"] = keras.saving.deserialize_keras_object(config["model"])
        return cls(**config)
