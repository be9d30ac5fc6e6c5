"""The `tf.Example` codec shared by the TFX pipeline and the serving signature.

Feature "image": PNG bytes of a uint8 HxWxC image; feature "label": int64.
"""

import numpy as np
import tensorflow as tf

IMAGE_KEY = "image"
LABEL_KEY = "label"
FEATURE_SPEC = {
    IMAGE_KEY: tf.io.FixedLenFeature([], tf.string),
    LABEL_KEY: tf.io.FixedLenFeature([], tf.int64, default_value=-1),
}


def checked_image(image):
    """`image` as a numpy array, which must be uint8 (H, W, C); a ValueError says what it is otherwise."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3:
        raise ValueError(f"image must be uint8 with shape (H, W, C). Received: {image.dtype} {image.shape}")
    return image


def encode_example(image, label):
    """uint8 (H, W, C) image and int label -> serialized tf.Example bytes."""
    return example_from_png(tf.io.encode_png(checked_image(image)).numpy(), label)


def example_from_png(png, label, **int64_features):
    """PNG bytes, an int label and extra int64 features (name=value) -> serialized tf.Example bytes:
    `encode_example`'s record for an image already PNG-encoded (e.g. many at once by `tf.data`)."""
    feature = {
        IMAGE_KEY: tf.train.Feature(bytes_list=tf.train.BytesList(value=[png])),
        LABEL_KEY: tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
    }
    for name, value in int64_features.items():
        feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def decode_examples(serialized, channels, height=None, width=None):
    """A batch of serialized tf.Examples -> (uint8 images (N, H, W, C), int64 labels)."""
    parsed = tf.io.parse_example(serialized, FEATURE_SPEC)

    def decode(png):
        img = tf.io.decode_png(png, channels=channels)
        if height is not None:
            img = tf.ensure_shape(img, (height, width, channels))
        return img

    images = tf.map_fn(decode, parsed[IMAGE_KEY],
                       fn_output_signature=tf.TensorSpec((height, width, channels), tf.uint8))
    return images, parsed[LABEL_KEY]
