"""Floating-point operations of a Keras model, counted from its layer shapes.

Only the layers that dominate the arithmetic are counted: convolutions and
dense layers (multiply-adds, 2 FLOPs each, plus the bias add). BatchNorm,
activations, pooling and additions are elementwise (a few FLOPs per
activation, a few percent of a ResNet's total) and are left out, as in the
usual FLOP tables of CNN papers.

A training step costs about three forward passes (Kaplan et al. 2020, the
"6N" rule: the backward pass computes the gradient with respect to the
inputs and with respect to the weights, each about as costly as the
forward pass), so `training_flops_per_example = 3 * forward`.
"""

import dataclasses

import keras


@dataclasses.dataclass(frozen=True)
class LayerFlops:
    name: str
    kind: str
    flops: int


def _conv_flops(layer):
    out_shape = layer.output.shape  # (B, H, W, C_out) for channels_last
    kh, kw = layer.kernel_size
    if layer.data_format == "channels_first":
        c_out, spatial = out_shape[1], out_shape[2] * out_shape[3]
        c_in = layer.input.shape[1]
    else:
        c_out, spatial = out_shape[-1], out_shape[1] * out_shape[2]
        c_in = layer.input.shape[-1]
    groups = getattr(layer, "groups", 1) or 1
    macs = spatial * kh * kw * (c_in // groups) * c_out
    return 2 * macs + (spatial * c_out if layer.use_bias else 0)


def _depthwise_flops(layer):
    out_shape = layer.output.shape
    kh, kw = layer.kernel_size
    spatial, c_out = out_shape[1] * out_shape[2], out_shape[-1]
    return 2 * spatial * kh * kw * c_out + (spatial * c_out if layer.use_bias else 0)


def _dense_flops(layer):
    units_in = layer.input.shape[-1]
    positions = 1
    for d in layer.input.shape[1:-1]:
        positions *= d
    return positions * (2 * units_in * layer.units + (layer.units if layer.use_bias else 0))


def _count(layer):
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return "depthwise_conv", _depthwise_flops(layer)
    if isinstance(layer, keras.layers.Conv2D):
        return "conv", _conv_flops(layer)
    if isinstance(layer, keras.layers.Dense):
        return "dense", _dense_flops(layer)
    return None, 0


def layer_flops(model):
    """Forward FLOPs per example of each conv / dense layer of a built functional model.

    Nested models are walked; layers whose class derives from `Conv2D`,
    `DepthwiseConv2D` or `Dense` (DropConnectDense included) are counted.

    Args:
        model: a built `keras.Model` whose layers have known output shapes.

    Returns:
        A list of `LayerFlops(name, kind, flops)`.

    Example:
    >>> sum(entry.flops for entry in layer_flops(model))
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"Expected a keras.Model for `model`. Received: model={model!r}")
    entries = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        kind, flops = _count(layer)
        if kind is not None:
            entries.append(LayerFlops(layer.name, kind, int(flops)))
    return entries


def forward_flops(model):
    """Forward FLOPs per example: the sum over `layer_flops(model)`."""
    return sum(entry.flops for entry in layer_flops(model))


def training_flops_per_example(model):
    """FLOPs of one training example: forward + backward = 3 x forward."""
    return 3 * forward_flops(model)
