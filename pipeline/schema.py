"""The curated schema: what the data must look like, from the dataset's known facts.

SchemaGen infers a schema from the very statistics it validates, so a bad label
or a wrong image size in today's data becomes part of today's schema. The
curated schema fixes the label domain to 0..K-1, the image size to the
dataset's, and requires every feature in every example; ExampleValidator then
reports anything else as an anomaly.
"""

import os

import tensorflow as tf
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from deeprob_pipeline.examples import SHAPE_KEYS


def curated_schema(num_classes, image_shape):
    """A `tensorflow_metadata` Schema for `image`, `label`, `height`, `width`, `channels`."""
    schema = schema_pb2.Schema()

    def feature(name, kind):
        f = schema.feature.add(name=name, type=kind)
        f.presence.min_fraction = 1.0
        f.presence.min_count = 1
        f.value_count.min = 1
        f.value_count.max = 1
        return f

    feature("image", schema_pb2.BYTES)
    label = feature("label", schema_pb2.INT)
    label.int_domain.min = 0
    label.int_domain.max = num_classes - 1
    label.int_domain.is_categorical = True
    for key, size in zip(SHAPE_KEYS, image_shape):
        f = feature(key, schema_pb2.INT)
        f.int_domain.min = int(size)
        f.int_domain.max = int(size)
    return schema


def write_curated_schema(directory, num_classes, image_shape):
    """Writes `schema.pbtxt` into `directory` (local or a gfile URI); returns its path."""
    tf.io.gfile.makedirs(directory)
    path = os.path.join(directory, "schema.pbtxt")
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(text_format.MessageToString(curated_schema(num_classes, image_shape)))
    return path
