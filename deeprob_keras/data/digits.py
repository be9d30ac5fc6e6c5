"""sklearn's bundled `digits` (8x8, 1,797 images): the 'different' dataset."""

import numpy as np

CLASS_NAMES = [str(i) for i in range(10)]


def load_digits_arrays(test_fraction=0.2, seed=0):
    """Returns ((x_train, y_train), (x_test, y_test)) as uint8 8x8x1 images.

    sklearn stores pixel intensities 0..16; they are scaled to 0..255. The test
    split is a fixed, stratified share of the data (sklearn has no test split).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., np.newaxis]
    labels = bunch.target.astype(np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, labels, test_size=test_fraction, random_state=seed, stratify=labels)
    return (x_tr, y_tr), (x_te, y_te)
