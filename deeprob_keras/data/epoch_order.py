"""Training data whose shuffle order is a function of (seed, epoch), so that a resumed run replays it.

`tf.data`'s `shuffle(seed=s, reshuffle_each_iteration=True)` draws each
epoch's order from a generator that starts again with the process: a run
killed after epoch 3 and resumed trains its epoch 4 on epoch 1's order, and
its weights part from those of a run never killed. Here the order of an
iteration is a permutation drawn from the seed `(seed, k)`, `k` read from a
counter that every new iterator advances; `EpochOrderSync` sets the counter to the epoch a
`fit` starts at (0, or the epoch BackupAndRestore resumes at), so epoch `e`
sees the same order in every run of the same seed. `key_draws` does the same for
the augmentation's random draws.
"""

import math

import keras
import tensorflow as tf


class EpochOrder:
    """A counter of iterations and in-memory training examples permuted by it.

    Each iteration (epoch) is a full permutation of the examples, drawn with
    `tf.random.experimental.stateless_shuffle` from the seed `(seed, k)`: sampling
    without replacement, the same order for epoch `k` in every run of `seed`.

    Args:
        seed: the run's seed.

    Example:
        >>> order = EpochOrder(seed=0)
        >>> model.fit(order.batches(images, labels, 128), epochs=10, callbacks=[order.callback()])
    """

    def __init__(self, seed):
        self.seed = int(seed)
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch_order")
        self._generators = []  # (keras.random.SeedGenerator, its seed): restarted at every epoch

    def key_draws(self, generators):
        """Restarts these `keras.random.SeedGenerator`s at `[seed, epoch * 2**32]` when an epoch begins.

        A generator's draws then depend on the epoch and on how many draws came
        before in that epoch, not on the process: with the maps that draw from them
        run in order (`finish_batches(..., ordered_draws=True)`), the augmentation
        of epoch `e` is the same in every run of the same seed.
        """
        for generator in generators:
            if all(generator is not g for g, _ in self._generators):
                self._generators.append((generator, int(generator.state.numpy()[0])))
        return self

    def _restart_draws(self, epoch):
        return [g.state.assign(tf.stack([tf.constant(base, g.state.dtype), tf.cast(epoch, g.state.dtype) * 2**32]))
                for g, base in self._generators]

    def permutation(self, epoch, num_examples):
        """The order of epoch `epoch`: a permutation of `range(num_examples)` (int64)."""
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(epoch, tf.int64)])
        return tf.random.experimental.stateless_shuffle(tf.range(num_examples, dtype=tf.int64), seed=seed)

    def batches(self, images, labels, batch_size):
        """`(images[i], labels[i])` batches, `i` in a new permutation at every iteration, keyed by the counter."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer. Received: {batch_size}")
        n = len(labels)
        images, labels = tf.constant(images), tf.constant(labels)

        def one_iteration(_):
            epoch = self.epoch.assign_add(1) - 1  # this iteration's epoch; the next iterator gets epoch + 1
            with tf.control_dependencies(self._restart_draws(epoch)):
                order = self.permutation(epoch, n)
            return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

        indices = tf.data.Dataset.from_tensors(0).flat_map(one_iteration)
        indices = indices.apply(tf.data.experimental.assert_cardinality(math.ceil(n / batch_size)))
        return indices.map(lambda i: (tf.gather(images, i), tf.gather(labels, i)))

    def callback(self):
        return EpochOrderSync(self)


class EpochOrderSync(keras.callbacks.Callback):
    """Points the order's counter at the first epoch of each `fit` (after BackupAndRestore's restore).

    Keras opens the first iterator of a `fit` after `on_epoch_begin` of its first
    epoch and each later one as the epoch before it ends, so setting the counter
    once per `fit` is enough; anything that iterated the data before (the
    model's symbolic build pulls a batch) is overridden.
    """

    def __init__(self, order):
        super().__init__()
        self.order = order
        self._synced = False

    def on_train_begin(self, logs=None):
        self._synced = False

    def on_epoch_begin(self, epoch, logs=None):
        if not self._synced:
            self.order.epoch.assign(epoch)
            self._synced = True


def seed_generators(*layers):
    """The `keras.random.SeedGenerator`s of these layers and their sublayers, of objects with a
    `seed_generator` (MixUp, CutMix), and of those listed in a `seed_generators` attribute (such as
    `build_batch_fn`'s function); None is skipped. Build layers first: some create theirs in `build`."""
    found = []
    for obj in layers:
        if obj is None:
            continue
        if isinstance(obj, keras.random.SeedGenerator):
            found.append(obj)
        elif isinstance(obj, keras.layers.Layer):
            for layer in obj._flatten_layers(include_self=True):
                found.extend(layer._seed_generators)
        elif isinstance(getattr(obj, "seed_generator", None), keras.random.SeedGenerator):
            found.append(obj.seed_generator)  # MixUp, CutMix: not layers
        found.extend(seed_generators(*getattr(obj, "seed_generators", ())))
    unique = []
    for g in found:
        if all(g is not u for u in unique):
            unique.append(g)
    return unique
