"""A small ResNet for 28x28 / 32x32 images: BatchNorm, global average pooling.

With the default widths (16, 32, 64) and one block per stage it has ~78k
parameters. Layers carry stable names so that transfer learning can cut the
network at a stage: `stage{i}` is the output of stage i, `features` the pooled
features, `classifier` the last layer.
"""

import keras

from deeprob_keras.layers import (FractionalMaxPooling2D, FusedBatchNormalization, StochasticDepth, kernel_regularizer,
                                  linear_decay_rates)
from deeprob_keras.layers.heads import classifier_head
from deeprob_keras.layers.progressive_resize import ProgressiveResize
from deeprob_keras.recipe.choices import POOLING_NAMES
from deeprob_keras.registry import Registry

# model.pooling -> builder(spec, name) of the layer that downsamples between stages, or None when the
# first convolution of the stage does it (stride 2). Its names must be the recipe's POOLING_NAMES
# (checked here, at import).
POOLINGS = Registry("model.pooling", {
    "stride": None,
    "max": lambda spec, name: keras.layers.MaxPooling2D(2, name=name),
    "fractional_max": lambda spec, name: FractionalMaxPooling2D(pooling_ratio=spec.fractional_pooling_ratio,
                                                                name=name),
}, declared=POOLING_NAMES)


def _conv_bn(x, filters, strides, regularizer, batch_norm, name, relu=True, bn_momentum=0.9, zero_gamma=False,
             fused_batch_norm=False):
    x = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=not batch_norm,
                            kernel_initializer="he_normal", kernel_regularizer=regularizer,
                            name=f"{name}_conv")(x)
    if batch_norm:
        norm = FusedBatchNormalization if fused_batch_norm else keras.layers.BatchNormalization
        x = norm(momentum=bn_momentum, gamma_initializer="zeros" if zero_gamma else "ones", name=f"{name}_bn")(x)
    if relu:
        x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return x


def residual_block(x, filters, strides, drop_rate, regularizer, batch_norm, name, bn_momentum=0.9,
                   zero_init_residual=False, fused_batch_norm=False):
    """x + F(x) with F = conv-BN-ReLU-conv-BN; the branch goes through stochastic depth.

    `zero_init_residual`: the branch's last BatchNorm starts with gamma = 0, so that at initialization
    F(x) = 0 and the block is ReLU(shortcut(x)) (Goyal et al. 2017, "Accurate, Large Minibatch SGD").
    """
    shortcut = x
    y = _conv_bn(x, filters, strides, regularizer, batch_norm, f"{name}_a", bn_momentum=bn_momentum,
                 fused_batch_norm=fused_batch_norm)
    y = _conv_bn(y, filters, 1, regularizer, batch_norm, f"{name}_b", relu=False, bn_momentum=bn_momentum,
                 zero_gamma=zero_init_residual, fused_batch_norm=fused_batch_norm)
    if strides != 1 or x.shape[-1] != filters:
        shortcut = keras.layers.Conv2D(filters, 1, strides=strides, use_bias=False,
                                       kernel_regularizer=regularizer, name=f"{name}_proj")(x)
    if drop_rate > 0:
        y = StochasticDepth(rate=drop_rate, name=f"{name}_drop_path")(y)
    return keras.layers.ReLU(name=f"{name}_out")(keras.layers.Add(name=f"{name}_add")([shortcut, y]))


def stage_blocks(spec, stage):
    """How many residual blocks stage `stage` of the `ModelSpec` has: `first_stage_blocks` for stage 0 when
    set (0: the stem alone), else `blocks_per_stage`."""
    if stage == 0 and spec.first_stage_blocks is not None:
        return spec.first_stage_blocks
    return spec.blocks_per_stage


def small_resnet(input_shape, num_classes, spec, regularization=None, name="small_resnet", progressive_resize=False):
    """Builds the recipe's ResNet (see `ModelSpec`); outputs class probabilities.

    `progressive_resize`: a `ProgressiveResize` layer first (named `progressive_resize`), which a
    `ProgressiveResizing` callback sets each epoch; the identity outside training.
    """
    regularizer = kernel_regularizer(regularization.penalty, regularization.l1, regularization.l2) \
        if regularization is not None else None
    blocks = [stage_blocks(spec, stage) for stage in range(len(spec.widths))]
    num_blocks = sum(blocks)
    if spec.stochastic_depth > 0 and spec.stochastic_depth_linear_decay:
        rates = linear_decay_rates(spec.stochastic_depth, num_blocks)
    else:
        rates = [spec.stochastic_depth] * num_blocks
    inputs = keras.Input(shape=input_shape, name="images")
    x = ProgressiveResize(name="progressive_resize")(inputs) if progressive_resize else inputs
    x = _conv_bn(x, spec.widths[0], 1, regularizer, spec.batch_norm, "stem", bn_momentum=spec.bn_momentum,
                 fused_batch_norm=spec.fused_batch_norm)
    pool = POOLINGS[spec.pooling]
    block = 0
    for stage, filters in enumerate(spec.widths):
        for j in range(blocks[stage]):
            strides = 1
            if stage > 0 and j == 0:
                if pool is None:
                    strides = 2
                else:
                    x = pool(spec, f"stage{stage}_pool")(x)
            x = residual_block(x, filters, strides, rates[block], regularizer, spec.batch_norm,
                               f"stage{stage}_block{j}", bn_momentum=spec.bn_momentum,
                               zero_init_residual=spec.zero_init_residual,
                               fused_batch_norm=spec.fused_batch_norm)
            block += 1
        x = keras.layers.Identity(name=f"stage{stage}")(x)
    x = keras.layers.GlobalAveragePooling2D(name="features")(x)
    outputs = classifier_head(x, num_classes, spec, regularizer)
    return keras.Model(inputs, outputs, name=name)


def mlp(input_shape, num_classes, spec, regularization=None, name="mlp"):
    """A fully connected network (hidden sizes from `widths`), for quick checks."""
    regularizer = kernel_regularizer(regularization.penalty, regularization.l1, regularization.l2) \
        if regularization is not None else None
    inputs = keras.Input(shape=input_shape, name="images")
    x = keras.layers.Flatten(name="flatten")(inputs)
    for i, width in enumerate(spec.widths):
        x = keras.layers.Dense(width, activation="relu", kernel_regularizer=regularizer, name=f"dense{i}")(x)
    x = keras.layers.Identity(name="features")(x)
    outputs = classifier_head(x, num_classes, spec, regularizer)
    return keras.Model(inputs, outputs, name=name)
