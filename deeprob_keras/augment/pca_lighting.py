"""AlexNet PCA lighting ("fancy PCA", Krizhevsky et al., 2012)."""

import keras
import numpy as np
from keras import ops


def pca_lighting(images, alpha, eigenvalues, eigenvectors):
    """Adds `eigenvectors @ (alpha_i * eigenvalues)` to every pixel of image `i`.

    Args:
        images: `(B, H, W, 3)`.
        alpha: `(B, 3)` per-image coefficients.
        eigenvalues: `(3,)` eigenvalues of the RGB covariance.
        eigenvectors: `(3, 3)`, eigenvectors as columns.
    """
    images = ops.convert_to_tensor(images)
    alpha = ops.cast(alpha, images.dtype)
    vals = ops.cast(ops.convert_to_tensor(eigenvalues), images.dtype)
    vecs = ops.cast(ops.convert_to_tensor(eigenvectors), images.dtype)
    offset = ops.matmul(alpha * vals[None, :], ops.transpose(vecs))  # (B, 3)
    return images + offset[:, None, None, :]


def fit_pca_lighting(data, max_batches=None):
    """Eigen-decomposition of the 3x3 covariance of the RGB values of training pixels.

    Args:
        data: a NumPy array `(N, H, W, 3)`, or an iterable / `tf.data.Dataset` of
            such batches or of `(images, labels)` batches.
        max_batches: optional cap on the number of batches read.

    Returns:
        `(eigenvalues, eigenvectors)` as lists: eigenvalues `(3,)` in decreasing
        order, eigenvectors `(3, 3)` as columns; feed them to `PCALighting`.
    """
    batches = [data] if isinstance(data, np.ndarray) else data
    count, total, outer = 0, np.zeros(3), np.zeros((3, 3))
    for i, batch in enumerate(batches):
        if max_batches is not None and i >= max_batches:
            break
        if isinstance(batch, (tuple, list)):
            batch = batch[0]
        pixels = np.asarray(batch, dtype="float64").reshape(-1, np.shape(batch)[-1])
        if pixels.shape[1] != 3:
            raise ValueError(f"PCA lighting needs RGB images (3 channels). Received: {pixels.shape[1]} channels")
        count += len(pixels)
        total += pixels.sum(axis=0)
        outer += pixels.T @ pixels
    if count < 2:
        raise ValueError(f"Expected at least 2 pixels to fit PCA lighting. Received: {count}")
    mean = total / count
    cov = (outer - count * np.outer(mean, mean)) / (count - 1)
    vals, vecs = np.linalg.eigh(cov)
    order = np.argsort(vals)[::-1]
    return np.clip(vals[order], 0.0, None).tolist(), vecs[:, order].tolist()


@keras.saving.register_keras_serializable(package="deeprob")
class PCALighting(keras.layers.Layer):
    """AlexNet PCA lighting: shifts each image along the principal RGB axes.

    For each image, `alpha ~ N(0, std^2)` (3 values) and every pixel gets
    `[p1, p2, p3] @ [alpha1 l1, alpha2 l2, alpha3 l3]^T`, where `p_k, l_k` are
    the eigenvectors / eigenvalues of the RGB covariance of the training pixels
    (`fit_pca_lighting`). Identity when `training=False`. RGB input only.

    Args:
        std: float >= 0, standard deviation of `alpha` (0.1 in AlexNet).
        eigenvalues: 3 floats >= 0.
        eigenvectors: 3x3 nested list, eigenvectors as columns.
        seed: optional int.

    Example:
    >>> vals, vecs = fit_pca_lighting(train_images)
    >>> layer = PCALighting(0.1, vals, vecs)
    """

    def __init__(self, std, eigenvalues, eigenvectors, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(std, bool) or not isinstance(std, (int, float)) or std < 0:
            raise ValueError(f"Expected a float value >= 0 for `std`. Received: std={std}")
        vals = np.asarray(eigenvalues, dtype="float64")
        if vals.shape != (3,) or (vals < 0).any():
            raise ValueError(f"Expected 3 non-negative `eigenvalues`. Received: eigenvalues={eigenvalues}")
        vecs = np.asarray(eigenvectors, dtype="float64")
        if vecs.shape != (3, 3):
            raise ValueError(f"Expected a 3x3 `eigenvectors` matrix. Received: eigenvectors={eigenvectors}")
        self.std = float(std)
        self.eigenvalues, self.eigenvectors = vals.tolist(), vecs.tolist()
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        if not training:
            return inputs
        alpha = keras.random.normal((ops.shape(inputs)[0], 3), stddev=self.std, seed=self.seed_generator)
        return pca_lighting(inputs, alpha, self.eigenvalues, self.eigenvectors)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "std": self.std, "eigenvalues": self.eigenvalues,
                "eigenvectors": self.eigenvectors, "seed": self.seed}
