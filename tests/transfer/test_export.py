"""A transferred model saves to .keras and exports through export_saved_model with the same signatures."""

import keras
import numpy as np
import tensorflow as tf

from deeprob_keras.data import encode_example, load_datasets
from deeprob_keras.training import export_saved_model
from deeprob_keras.transfer import ImageAdapter, build_transfer_model
from tests.transfer.helpers import transfer_recipe


def test_transfer_model_exports_with_both_signatures(pretrained_path, tmp_path):
    # digits at their native 8x8: the model's own ImageAdapter resizes to the backbone's 28x28
    data = load_datasets("digits", batch_size=64, examples_per_class=5)
    recipe = transfer_recipe(pretrained_path, data={"dataset": "digits"}, mode="fine_tune", freeze_fraction=0.5)
    model = build_transfer_model(recipe, data.image_shape, data.num_classes)
    assert isinstance(model.get_layer("adapter"), ImageAdapter)
    x, y = data.test_arrays[0][:8], data.test_arrays[1][:8]
    images = x.astype("float32") / 255.0
    want = model.predict(images, verbose=0)

    keras_path = tmp_path / "transfer.keras"
    model.save(keras_path)
    reloaded = keras.saving.load_model(keras_path, safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(images, verbose=0), want, atol=1e-6)

    export_dir = export_saved_model(model, str(tmp_path / "serving" / "1"), raw_image_shape=(8, 8, 1),
                                    class_names=data.class_names)
    loaded = tf.saved_model.load(export_dir)
    assert set(loaded.signatures) == {"serving_default", "serving_images"}
    examples = tf.constant([encode_example(img, lab) for img, lab in zip(x, y)])
    out = loaded.signatures["serving_default"](examples=examples)
    assert set(out) == {"probabilities", "classes"}
    np.testing.assert_allclose(out["probabilities"].numpy(), want, atol=1e-5)
    np.testing.assert_allclose(loaded.signatures["serving_images"](images=tf.constant(images))["probabilities"].numpy(),
                               want, atol=1e-5)
