"""Real data offline: tf.data pipelines for TFDS names, Fashion-MNIST from Debian's files, sklearn digits."""

from deeprob_keras.data.arrays import load_arrays
from deeprob_keras.data.example_codec import decode_examples, encode_example
from deeprob_keras.data.pipelines import (Datasets, datasets_from_arrays, finish_batches, load_datasets,
                                          preprocess_images, without_autotune_thread)
