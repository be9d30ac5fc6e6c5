"""Shared helpers of the transfer tests: a small transfer recipe, compile-and-fit through the library."""

import numpy as np
import tensorflow as tf

from deeprob_keras.recipe import recipe_from_dict

TINY_MODEL = {"name": "small_resnet", "widths": [8, 16], "blocks_per_stage": 1}


def transfer_recipe(backbone, data=None, **transfer):
    """A small transfer recipe: Fashion-MNIST 5-9, 300 examples, constant learning rate 0.05."""
    return recipe_from_dict({
        "name": "t",
        "data": data or {"dataset": "fashion_mnist", "classes": [5, 6, 7, 8, 9], "limit_examples": 300,
                         "validation_fraction": 0.02},
        "model": {"name": "backbone"}, "schedule": {"name": "constant"},
        "optimizer": {"learning_rate": 0.05},
        "training": {"epochs": 1, "batch_size": 64},
        "callbacks": {"backup": False},
        "transfer": {"backbone": backbone, **transfer}})


def compile_and_fit(recipe, data, epochs=1):
    """`build_compiled_model` then `fit`; keeps the head's initial kernel in `model._initial_head`."""
    from deeprob_keras.training import build_compiled_model

    model, _ = build_compiled_model(recipe, data, tf.distribute.get_strategy(), 64)
    model._initial_head = np.array(model.get_layer("classifier").kernel.numpy())
    model.fit(data.train, epochs=epochs, verbose=0)
    return model


def bn_layers(model):
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
