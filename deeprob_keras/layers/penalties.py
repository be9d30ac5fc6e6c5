"""Weight penalties on kernels: L2, L1 and elastic net, as Keras regularizers."""

import keras

from deeprob_keras.registry import Registry

# regularization.penalty -> builder(l1, l2) of the regularizer. The recipe's choices come from here.
PENALTIES = Registry("regularization.penalty", {
    "none": lambda l1, l2: None,
    "l2": lambda l1, l2: keras.regularizers.L2(l2),
    "l1": lambda l1, l2: keras.regularizers.L1(l1),
    "elastic_net": lambda l1, l2: keras.regularizers.L1L2(l1=l1, l2=l2),
})
# (variable attribute, constructor/config attribute) of the layers we penalize.
_KERNEL_ATTRIBUTES = (("kernel", "kernel_regularizer"),
                      ("depthwise_kernel", "depthwise_regularizer"),
                      ("pointwise_kernel", "pointwise_regularizer"))


def kernel_regularizer(penalty="none", l1=0.0, l2=0.0):
    """Returns the Keras regularizer `R` added to the loss as `L = L_data + R(W)`.

    - "none": None.
    - "l2": `R(W) = l2 * sum W^2` (`keras.regularizers.L2`; no 1/2 factor).
    - "l1": `R(W) = l1 * sum |W|` (`keras.regularizers.L1`).
    - "elastic_net": `R(W) = l2 * sum W^2 + l1 * sum |W|` (`keras.regularizers.L1L2`),
      the lecture's `beta * sum W^2 + sum |W|` scaled by lambda: l2 = lambda * beta, l1 = lambda.

    Args:
        penalty: one of "none", "l2", "l1", "elastic_net".
        l1: float >= 0.
        l2: float >= 0.

    Example:
    >>> keras.layers.Dense(10, kernel_regularizer=kernel_regularizer("l2", l2=5e-4))
    """
    build = PENALTIES[penalty]
    for name, value in (("l1", l1), ("l2", l2)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(
                f"Invalid value for argument `{name}`. Expected a float value >= 0. Received: {name}={value}")
    return build(float(l1), float(l2))


def build_kernel_regularizer(regularization):
    """Builder for the recipe: `RegularizationSpec` -> regularizer or None.

    Pass the result as `kernel_regularizer=` to Dense/Conv layers (and
    DropConnectDense), or to `apply_weight_penalty` for a model already built.
    `regularization.label_smoothing` belongs to the loss builder.
    """
    return kernel_regularizer(regularization.penalty, l1=regularization.l1, l2=regularization.l2)


def apply_weight_penalty(model, regularizer):
    """Attaches `regularizer` to every kernel of a built model; biases and BN untouched.

    Kernels are the `kernel` of Dense/Conv/EinsumDense-like layers and the
    `depthwise_kernel` / `pointwise_kernel` of depthwise/separable convolutions,
    in nested models too. The layer's `*_regularizer` attribute is set as well,
    so the penalty survives `get_config()` and `.keras` saving. Call it before
    `compile()` (compile builds the train function that reads `model.losses`).
    `regularizer=None` removes the penalties.

    Args:
        model: a built `keras.Model` (or layer).
        regularizer: a `keras.regularizers.Regularizer` or None.

    Returns:
        The paths of the penalized variables.

    Example:
    >>> apply_weight_penalty(backbone, kernel_regularizer("l2", l2=1e-4))
    """
    if regularizer is not None and not isinstance(regularizer, keras.regularizers.Regularizer):
        raise ValueError(
            f"Expected a keras.regularizers.Regularizer or None for argument `regularizer`. "
            f"Received: regularizer={regularizer!r}")
    if not model.built:
        raise ValueError(f"apply_weight_penalty needs a built model. Received: model={model.name!r} (not built)")
    penalized = []
    for layer in model._flatten_layers(include_self=True, recursive=True):
        for var_attr, reg_attr in _KERNEL_ATTRIBUTES:
            variable = getattr(layer, "_" + var_attr, None)  # Dense/EinsumDense keep it in _kernel
            if not isinstance(variable, keras.Variable):
                variable = getattr(layer, var_attr, None)
            if not isinstance(variable, keras.Variable) or not variable.trainable:
                continue
            variable.regularizer = regularizer
            if hasattr(layer, reg_attr):
                setattr(layer, reg_attr, regularizer)
            penalized.append(variable.path)
    return penalized
