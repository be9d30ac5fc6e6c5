"""A tiny functional model with our layer names (stage0, stage1, features, classifier) for the retrieval tests."""

import keras


def tiny_model(input_shape=(8, 8, 1), num_classes=10, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(input_shape, name="images")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="stem_conv")(inputs)
    x = keras.layers.Identity(name="stage0")(x)
    x = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="stage1_conv")(x)
    x = keras.layers.BatchNormalization(name="stage1_bn")(x)
    x = keras.layers.Identity(name="stage1")(x)
    x = keras.layers.GlobalAveragePooling2D(name="features")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="classifier")(x)
    return keras.Model(inputs, outputs, name="tiny")
