"""Shared plumbing of the diagnostic steps: a regularization-free recipe, fixed
batches, a compiled per-step train function that returns the batch's own loss."""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from deeprob_keras.models import build_model
from deeprob_keras.recipe import with_overrides
from deeprob_keras.recipe.schema import AugmentationSpec
from deeprob_keras.training import build_optimizer, load_recipe_datasets
from deeprob_keras.training.plan import global_batch_size

# Every augmentation key at its schema default, which is "off": derived from the schema so
# that a new augmentation cannot stay on in the doctor's regularization-free runs.
NO_AUGMENTATION = {f"augmentation.{name}": value
                   for name, value in dataclasses.asdict(AugmentationSpec()).items()}

# Everything that regularizes: the penalty, label smoothing, dropout, DropConnect,
# stochastic depth, augmentation (and its test-time views), EMA and decoupled weight decay.
NO_REGULARIZATION = {
    "regularization.penalty": "none", "regularization.l1": 0.0, "regularization.l2": 0.0,
    "regularization.label_smoothing": 0.0,
    "model.head_dropout": 0.0, "model.head": "dense", "model.stochastic_depth": 0.0,
    **NO_AUGMENTATION,
    "optimizer.weight_decay": 0.0, "optimizer.use_ema": False,
    "schedule.name": "constant", "schedule.warmup_epochs": 0.0,
}


def without_regularization(recipe, **overrides):
    """The recipe with every regularizer off and a constant learning rate.

    Extra dotted overrides are passed as keyword arguments with `__` for dots,
    e.g. `optimizer__learning_rate=0.1`.
    """
    changes = dict(NO_REGULARIZATION)
    changes.update({k.replace("__", "."): v for k, v in overrides.items()})
    return with_overrides(recipe, changes)


def load_plain_datasets(recipe, batch_size=None):
    """The recipe's data (sparse labels, no augmentation) batched at `batch_size`."""
    plain = without_regularization(recipe)
    return load_recipe_datasets(plain, batch_size or global_batch_size(plain))  # one replica


def fixed_batches(dataset, num_batches):
    """The first `num_batches` batches of `dataset`, materialized as tensors."""
    batches = [(tf.convert_to_tensor(x), tf.convert_to_tensor(y)) for x, y in dataset.take(num_batches)]
    if len(batches) < num_batches:
        raise ValueError(
            f"Expected a dataset with at least num_batches={num_batches} batches. Received: {len(batches)}")
    return batches


def endless(dataset):
    """Iterates the dataset again and again."""
    while True:
        for batch in dataset:
            yield batch


class Trainer:
    """A model from the recipe with a compiled train step returning (loss, accuracy) of the batch.

    The loss is the data loss only (cross-entropy, no penalty); the optimizer is
    the recipe's, with a constant `learning_rate` (float) or any schedule.
    """

    def __init__(self, recipe, image_shape, num_classes, learning_rate=None, weight_decay=None):
        keras.utils.set_random_seed(recipe.seed)
        spec = recipe.optimizer
        if weight_decay is not None:
            spec = with_overrides(recipe, {"optimizer.weight_decay": float(weight_decay)}).optimizer
        self.model = build_model(recipe, image_shape, num_classes)
        self.initial_weights = [np.array(w) for w in self.model.get_weights()]
        self.learning_rate = learning_rate if learning_rate is not None else spec.learning_rate
        self.optimizer = build_optimizer(spec, self.learning_rate, model=self.model)
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy()
        self._step = tf.function(self._train_step)

    def _train_step(self, x, y):
        with tf.GradientTape() as tape:
            probs = self.model(x, training=True)
            loss = self.loss_fn(y, probs)
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))
        correct = tf.cast(tf.equal(tf.argmax(probs, -1), tf.cast(y, tf.int64)), tf.float32)
        return loss, tf.reduce_mean(correct)

    def step(self, x, y):
        """One optimizer step; returns the batch's (loss, accuracy) as floats."""
        loss, acc = self._step(x, y)
        return float(loss), float(acc)

    def current_learning_rate(self):
        return float(keras.ops.convert_to_numpy(self.optimizer.learning_rate))
