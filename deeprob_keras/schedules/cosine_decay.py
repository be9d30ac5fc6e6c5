"""Cosine decay (with an optional floor), reusing Keras's `CosineDecay`."""

import keras

from deeprob_keras.schedules import _checks


@keras.saving.register_keras_serializable(package="deeprob")
class CosineDecay(keras.optimizers.schedules.CosineDecay):
    """Cosine decay of the learning rate from alpha_0 to a floor over T steps.

    `alpha_t = alpha_min + 1/2 (alpha_0 - alpha_min) (1 + cos(t pi / T))`,
    `alpha_min = f * alpha_0`; with f = 0 this is the lecture's
    `alpha_t = 1/2 alpha_0 (1 + cos(t pi / T))`. For t > T the rate stays
    at alpha_min.

    This IS `keras.optimizers.schedules.CosineDecay(alpha_0, T, alpha=f)`
    (Keras computes `alpha_0 * ((1 - f) * 1/2 (1 + cos(pi min(t, T) / T)) + f)`,
    the same expression; the tests check it against the formula): this thin
    subclass only renames the arguments, validates them and registers the
    class in the `deeprob` package.

    Args:
        initial_learning_rate: float > 0, alpha_0.
        decay_steps: int > 0, T, the number of steps of the decay.
        min_lr_fraction: float in [0, 1], f, the floor as a fraction of
            alpha_0. Defaults to 0.
        name: optional name of the schedule.

    Example:

    >>> schedule = CosineDecay(0.1, decay_steps=1000)
    >>> [round(float(schedule(t)), 4) for t in (0, 500, 1000, 2000)]
    [0.1, 0.05, 0.0, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, min_lr_fraction=0.0, name="CosineDecay"):
        initial_learning_rate = _checks.positive_number("initial_learning_rate", initial_learning_rate)
        decay_steps = _checks.positive_int("decay_steps", decay_steps)
        min_lr_fraction = _checks.number_in_range("min_lr_fraction", min_lr_fraction, 0.0, 1.0)
        super().__init__(initial_learning_rate, decay_steps, alpha=min_lr_fraction, name=name)
        self.min_lr_fraction = min_lr_fraction

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "min_lr_fraction": self.min_lr_fraction,
            "name": self.name,
        }
