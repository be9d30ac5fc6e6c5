"""EpochOrder: the training order is a function of (seed, epoch), so a resumed fit replays the unkilled one."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.data.epoch_order import EpochOrder

N = 64


X = np.arange(N, dtype=np.float32)[:, None]
Y = (3.0 * X[:, 0] + 1.0) / N


def _orders(order, iterations, batch=16):
    ds = order.batches(X, Y, batch).prefetch(2)
    return [np.concatenate([b[0].numpy()[:, 0] for b in ds]).astype(int) for _ in range(iterations)]


def test_each_iteration_is_a_permutation_and_a_new_order():
    a, b, c = _orders(EpochOrder(seed=0), 3)
    for order in (a, b, c):
        assert sorted(order.tolist()) == list(range(N))
    assert not np.array_equal(a, b) and not np.array_equal(b, c)


def test_same_seed_and_epoch_same_order_in_a_new_object():
    first = _orders(EpochOrder(seed=7), 3)
    resumed = EpochOrder(seed=7)
    resumed.epoch.assign(2)
    np.testing.assert_array_equal(_orders(resumed, 1)[0], first[2])
    other_seed = _orders(EpochOrder(seed=8), 1)[0]
    assert not np.array_equal(other_seed, first[0])


def test_cardinality_is_known_and_the_last_batch_is_kept():
    ds = EpochOrder(0).batches(X, Y, 24)
    assert int(ds.cardinality()) == 3  # Keras sizes its progress bar and epoch from it
    batches = list(ds)  # one iteration: a second one would be another order
    assert [len(x) for x, _ in batches] == [24, 24, 16]
    np.testing.assert_allclose(np.concatenate([y.numpy() for _, y in batches]),  # labels travel with their images
                               (3.0 * np.concatenate([x.numpy()[:, 0] for x, _ in batches]) + 1.0) / N, rtol=1e-6)


def test_bad_batch_size_is_one_line_error():
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        EpochOrder(0).batches(X, Y, 0)


class _StopAfter(keras.callbacks.Callback):
    """Stands for a kill at an epoch boundary: raises once `epoch` has ended (after the backup)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def _fit(backup_dir, epochs, extra=(), sync=True):
    keras.utils.set_random_seed(0)
    order = EpochOrder(seed=0)
    ds = order.batches(X, Y, 8)
    inputs = keras.Input((1,))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Dense(4, activation="tanh")(inputs)))
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "mse")
    callbacks = [keras.callbacks.BackupAndRestore(str(backup_dir)), *([order.callback()] if sync else []), *extra]
    model.fit(ds, epochs=epochs, callbacks=callbacks, verbose=0)
    return model


def test_a_resumed_fit_ends_with_the_weights_of_an_unkilled_one(tmp_path):
    clean = _fit(tmp_path / "clean", 4).get_weights()
    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path / "killed", 4, extra=[_StopAfter(1)])
    resumed = _fit(tmp_path / "killed", 4).get_weights()
    for got, want in zip(resumed, clean):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_without_the_sync_a_resumed_fit_replays_the_first_epochs_order(tmp_path):
    """The reason for EpochOrderSync: the check above fails without it (the test can fail)."""
    clean = _fit(tmp_path / "clean", 4).get_weights()

    with pytest.raises(KeyboardInterrupt):
        _fit(tmp_path / "killed", 4, extra=[_StopAfter(1)], sync=False)
    resumed = _fit(tmp_path / "killed", 4, sync=False).get_weights()
    assert max(float(np.max(np.abs(g - w))) for g, w in zip(resumed, clean)) > 1e-5


def _augmented_epochs(first_epoch, epochs, seed=3):
    """A fresh pipeline (as in a new process) with flips, translations and Mixup: the training batches
    of `epochs` iterations starting at `first_epoch`."""
    from deeprob_keras.augment.build import build_augmentation
    from deeprob_keras.data.epoch_order import seed_generators
    from deeprob_keras.data.pipelines import finish_batches
    from deeprob_keras.recipe.schema import AugmentationSpec

    keras.utils.set_random_seed(first_epoch + 100)  # a different process state each time: must not matter
    image_fn, batch_fn = build_augmentation(AugmentationSpec(flip=True, translate=2, mixup_alpha=0.2),
                                            num_classes=4, seed=seed)
    image_fn.build((None, 8, 8, 1))  # PixelTranslation makes its generator in build()
    order = EpochOrder(seed).key_draws(seed_generators(image_fn, batch_fn))
    order.epoch.assign(first_epoch)
    images = np.random.default_rng(0).random((N, 8, 8, 1)).astype(np.float32)
    ds = finish_batches(order.batches(images, np.arange(N) % 4, 16), True, 4, image_fn=image_fn,
                        batch_fn=batch_fn, ordered_draws=True)
    return [np.concatenate([x.numpy().ravel() for x, _ in ds]) for _ in range(epochs)], (image_fn, batch_fn)


def test_augmentation_draws_are_keyed_by_the_epoch():
    (e0, e1, e2), (image_fn, batch_fn) = _augmented_epochs(0, 3)
    (r2,), _ = _augmented_epochs(2, 1)  # "resumed" at epoch 2 in a fresh pipeline
    np.testing.assert_array_equal(r2, e2)
    assert not np.array_equal(e0, e1)
    from deeprob_keras.data.epoch_order import seed_generators

    # flip, translation, Mixup and the Mixup/CutMix coin: every generator is keyed
    assert len(seed_generators(image_fn, batch_fn)) == 4
    # the check can fail: without the keying a fresh pipeline replays epoch 0's draws, not epoch 2's
    assert not np.array_equal(r2, e0)
