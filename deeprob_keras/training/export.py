"""Export a Keras model as a TF Serving SavedModel with explicit signatures.

Keras 3 cannot write a SavedModel through `model.save`, and TFMA cannot read a
`.keras` file, so the model is wrapped in a `tf.Module` with two signatures:

- `serving_default`: a batch of serialized `tf.Example`s (feature `image`: PNG
  bytes, `label` ignored) -> {"probabilities", "classes"};
- `serving_images`: a float32 image batch in [0, 1] of the model's input shape
  -> {"probabilities", "classes"};
- `embeddings` (when the model has a `features` layer, the pooled features):
  serialized `tf.Example`s as for `serving_default` -> {"embeddings"}, the
  L2-normalized features that a retrieval index (`deeprob_keras.retrieval`) holds.

The SavedModel is written to a temporary folder and renamed into place, so a
version directory is either complete or absent.
"""

import os
import shutil
import tempfile
import time

import tensorflow as tf

from deeprob_keras.data.example_codec import decode_examples
from deeprob_keras.data.pipelines import preprocess_images
from deeprob_keras.retrieval.embeddings import embedding_model, pooled_features_layer


def _outputs(probabilities):
    return {"probabilities": probabilities, "classes": tf.argmax(probabilities, axis=-1)}


def build_serving_module(model, raw_image_shape, image_size=None, channels=None, input_shape=None):
    """A `tf.Module` holding `model` with the two serving functions.

    `input_shape` (H, W, C) defaults to the model's own; subclassed models
    (ensembles, test-time augmentation) need it given.
    """
    raw_h, raw_w, raw_c = raw_image_shape
    input_shape = tuple(input_shape or model.input_shape[1:])
    module = tf.Module()
    module.model = model
    # Layers random at inference (MCAverage over fractional pooling regions) advance their
    # SeedGenerator state inside the signatures: tf.saved_model needs those variables tracked.
    module.seed_states = [g.state.value for layer in model._flatten_layers(include_self=True, recursive=True)
                          for g in getattr(layer, "_seed_generators", [])]

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(examples):
        images, _ = decode_examples(examples, channels=raw_c, height=raw_h, width=raw_w)
        x = preprocess_images(images, image_size, channels)
        return _outputs(model(x, training=False))

    @tf.function(input_signature=[tf.TensorSpec((None,) + input_shape, tf.float32, name="images")])
    def serve_images(images):
        return _outputs(model(images, training=False))

    module.serve_examples = serve_examples
    module.serve_images = serve_images
    if pooled_features_layer(model) is not None:
        module.embedder = embedding_model(model, pooled_features_layer(model))

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def embed_examples(examples):
            images, _ = decode_examples(examples, channels=raw_c, height=raw_h, width=raw_w)
            return {"embeddings": module.embedder(preprocess_images(images, image_size, channels), training=False)}

        module.embed_examples = embed_examples
    return module


def export_saved_model(model, directory, raw_image_shape, image_size=None, channels=None,
                       class_names=None, input_shape=None):
    """Writes the SavedModel to `directory` atomically; returns `directory`."""
    directory = os.path.abspath(directory)
    parent = os.path.dirname(directory)
    os.makedirs(parent, exist_ok=True)
    module = build_serving_module(model, raw_image_shape, image_size, channels, input_shape)
    tmp = tempfile.mkdtemp(prefix=".partial-", dir=parent)
    try:
        signatures = {"serving_default": module.serve_examples, "serving_images": module.serve_images}
        if hasattr(module, "embed_examples"):
            signatures["embeddings"] = module.embed_examples
        tf.saved_model.save(module, tmp, signatures=signatures)
        if class_names:
            with open(os.path.join(tmp, "assets.extra_class_names.txt"), "w") as f:
                f.write("\n".join(class_names) + "\n")
        if os.path.exists(directory):
            shutil.rmtree(directory)
        os.rename(tmp, directory)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return directory


def export_serving_version(model, base_dir, version=None, **kwargs):
    """Exports into TF Serving's layout `<base_dir>/<version>/`; returns the version dir."""
    version = version if version is not None else int(time.time())
    return export_saved_model(model, os.path.join(base_dir, str(version)), **kwargs)
