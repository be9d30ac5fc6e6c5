import numpy as np
import tensorflow as tf

from deeprob_keras.augment import PCALighting, fit_pca_lighting, pca_lighting
from tests.layer_testing import assert_invalid_argument, run_layer_test

VALS = [0.2175, 0.0188, 0.0045]  # AlexNet / fb.resnet ImageNet values
VECS = [[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140], [-0.5836, -0.6948, 0.4203]]


def test_layer_contract():
    run_layer_test(PCALighting, {"std": 0.1, "eigenvalues": VALS, "eigenvectors": VECS, "seed": 0},
                   input_shape=(4, 6, 6, 3), identity_at_inference=True, check_training_differs=True)


def test_offset_with_fixed_alpha():
    x = np.random.default_rng(0).uniform(size=(2, 4, 5, 3)).astype("float32")
    alpha = np.array([[0.5, -1.0, 2.0], [0.0, 0.0, 0.0]], dtype="float32")
    out = np.asarray(pca_lighting(x, alpha, VALS, VECS))
    offset = np.array(VECS) @ (alpha[0] * np.array(VALS))  # p @ (alpha * lambda)
    np.testing.assert_allclose(out[0], x[0] + offset, atol=1e-6)
    np.testing.assert_allclose(out[1], x[1], atol=1e-6)


def test_offsets_are_constant_per_image_and_follow_std():
    x = np.zeros((2000, 2, 2, 3), dtype="float32")
    out = np.asarray(PCALighting(0.1, VALS, VECS, seed=1)(x, training=True))
    np.testing.assert_allclose(out, np.broadcast_to(out[:, :1, :1, :], out.shape), atol=1e-7)
    coeff = out[:, 0, 0, :] @ np.array(VECS)  # back to alpha * lambda along each axis
    np.testing.assert_allclose(coeff.std(axis=0), 0.1 * np.array(VALS), rtol=0.1)


def test_fit_from_data_recovers_covariance():
    rng = np.random.default_rng(2)
    cov = np.array([[0.04, 0.02, 0.01], [0.02, 0.03, 0.0], [0.01, 0.0, 0.02]])
    pixels = rng.multivariate_normal([0.5, 0.4, 0.3], cov, size=64 * 16 * 16)
    images = pixels.reshape(64, 16, 16, 3).astype("float32")
    true_vals, true_vecs = np.linalg.eigh(cov)
    for data in (images, tf.data.Dataset.from_tensor_slices((images, np.zeros(64))).batch(16).as_numpy_iterator()):
        vals, vecs = fit_pca_lighting(data)
        np.testing.assert_allclose(vals, true_vals[::-1], rtol=0.05)
        for k in range(3):  # eigenvectors up to sign
            assert abs(abs(np.dot(np.array(vecs)[:, k], true_vecs[:, 2 - k])) - 1) < 0.01


def test_bad_arguments():
    assert_invalid_argument(PCALighting, {"std": -0.1, "eigenvalues": VALS, "eigenvectors": VECS}, "std")
    assert_invalid_argument(PCALighting, {"std": 0.1, "eigenvalues": [1.0, 2.0], "eigenvectors": VECS}, "eigenvalues")
    assert_invalid_argument(PCALighting, {"std": 0.1, "eigenvalues": VALS, "eigenvectors": [[1.0]]}, "eigenvectors")
