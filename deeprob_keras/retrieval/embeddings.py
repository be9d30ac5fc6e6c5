"""Embeddings: L2-normalized features of a trained Keras model at a named layer.

The lecture's retrieval by CNN features: run the images through a trained
network, read the activations of one layer, and compare images by those
vectors instead of their pixels. Here:

- a 4-D layer output (B, H, W, C) becomes a vector by global average pooling
  (`spatial="avg"`, the default: C numbers, blind to where a pattern is) or
  by flattening (`spatial="flatten"`: H*W*C numbers, keeps the layout);
- a 2-D output (e.g. our models' `features`, already pooled) is used as is;
- every vector is L2-normalized, `e = f / max(||f||_2, eps)`, so that the dot
  product of two embeddings is their cosine similarity and ranking by it equals
  ranking by Euclidean distance between the normalized vectors.
"""

import difflib

import keras
import numpy as np
import tensorflow as tf

from deeprob_keras.validation import one_of, positive_int

SPATIAL = ("avg", "flatten")
# The layer of our models (small_resnet, mlp, transfer heads) that holds the pooled features.
POOLED_FEATURES = "features"


def l2_normalize(x, epsilon=1e-12):
    """`x / max(||x||_2, epsilon)` along the last axis (a zero vector stays zero)."""
    x = tf.convert_to_tensor(x)
    norm = tf.sqrt(tf.reduce_sum(tf.square(x), axis=-1, keepdims=True))
    return x / tf.maximum(norm, tf.cast(epsilon, x.dtype))


def layer_names(model):
    """The names of `model`'s top-level layers, input to output."""
    return [layer.name for layer in model.layers]


def pooled_features_layer(model):
    """The name of the layer holding the pooled features (`features`), or None when `model` has none."""
    return POOLED_FEATURES if POOLED_FEATURES in layer_names(model) else None


class UnknownLayer(ValueError):
    """`layer` is not one of the model's layers; the message lists them and the closest names."""

    def __init__(self, layer, names, model_name="model"):
        close = difflib.get_close_matches(str(layer), names, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(f"no layer named {layer!r} in {model_name!r}.{hint} Available layers: {', '.join(names)}")
        self.layer, self.names, self.close = layer, names, close


def _to_vectors(x, spatial, layer):
    if len(x.shape) == 2:
        return x
    if len(x.shape) == 4 and spatial == "avg":
        return keras.layers.GlobalAveragePooling2D(name=f"{layer}_avg")(x)
    return keras.layers.Flatten(name=f"{layer}_flat")(x)


def embedding_model(model, layer=None, spatial="avg"):
    """A Keras model from `model`'s inputs to the L2-normalized embeddings at `layer`.

    The new model shares `model`'s layers (and weights); call it with `training=False`.

    Args:
        model: a functional Keras model.
        layer: str, the layer's name; default the pooled features (`features`).
        spatial: "avg" (global average pooling, default) or "flatten", for 4-D outputs.
            Outputs of rank 3 or above 4 are flattened.

    Returns:
        A `keras.Model` mapping images to (B, D) unit vectors.

    Raises:
        UnknownLayer: `layer` is not a layer of `model` (or no `features` layer for the default).

    Example:
        >>> embed = embedding_model(model, "stage1")
        >>> embed(images, training=False).shape  # (B, 32) for the default ResNet
    """
    one_of("spatial", spatial, SPATIAL)
    names = layer_names(model)
    layer = POOLED_FEATURES if layer is None else layer
    if layer not in names:
        raise UnknownLayer(layer, names, model.name)
    x = _to_vectors(model.get_layer(layer).output, spatial, layer)
    out = keras.layers.UnitNormalization(axis=-1, name=f"{layer}_l2")(x)  # = l2_normalize
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs  # no structure warning on calls
    return keras.Model(inputs, out, name=f"{model.name}_{layer}_embeddings")


def unit_scale(images):
    """uint8 images -> float32 in [0, 1] (the project's preprocessing); float images pass through."""
    images = tf.convert_to_tensor(images)
    return tf.cast(images, tf.float32) / 255.0 if images.dtype == tf.uint8 else tf.cast(images, tf.float32)


def compute_embeddings(embedder, images, batch_size=256, preprocess=unit_scale):
    """Embeddings of `images`, batched through `tf.data`; returns a float32 (N, D) NumPy array.

    Args:
        embedder: a model from `embedding_model` (or any callable images -> (B, D)).
        images: a NumPy array (N, H, W, C), or a `tf.data.Dataset` of image batches
            (or of `(images, labels)` batches: the labels are ignored).
        batch_size: int >= 1, for arrays.
        preprocess: applied to each batch in the `tf.data` map (default: uint8 -> [0, 1]).

    Example:
        >>> gallery = compute_embeddings(embedding_model(model), train_images)
    """
    if isinstance(images, tf.data.Dataset):
        ds = images.map(lambda *batch: batch[0])
    else:
        ds = tf.data.Dataset.from_tensor_slices(images).batch(positive_int("batch_size", batch_size))
    if preprocess is not None:
        ds = ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.prefetch(tf.data.AUTOTUNE)

    @tf.function(reduce_retracing=True)
    def embed(x):
        return embedder(x, training=False)

    out = [embed(x).numpy() for x in ds]
    if not out:
        return np.zeros((0, 0), np.float32)
    return np.concatenate(out).astype(np.float32, copy=False)


def model_preprocessing(model, image_shape):
    """A batch function: uint8 images of `image_shape` (H, W, C) -> `model`'s input (floats in [0, 1],
    resized to its square input and converted to its channels when they differ)."""
    from deeprob_keras.data.pipelines import preprocess_images

    h, w, c = model.input_shape[1:]
    if h != w and tuple(image_shape[:2]) != (h, w):
        raise ValueError(f"the model's input is {h}x{w} (not square) and the images are "
                         f"{image_shape[0]}x{image_shape[1]}: resize them first")
    size = None if tuple(image_shape[:2]) == (h, w) else h
    return lambda images: preprocess_images(images, size, c)


def pixel_vectors(images):
    """Raw pixels as float32 vectors in [0, 1], (N, H*W*C): the lecture's appearance baseline (not normalized)."""
    images = np.asarray(images)
    x = images.reshape(len(images), -1).astype(np.float32)
    return x / 255.0 if images.dtype == np.uint8 else x
