"""Linear decay to zero, reusing Keras's `PolynomialDecay`."""

import keras

from deeprob_keras.schedules import _checks


@keras.saving.register_keras_serializable(package="deeprob")
class LinearDecay(keras.optimizers.schedules.PolynomialDecay):
    """Linear decay of the learning rate from alpha_0 to 0 over T steps.

    `alpha_t = alpha_0 (1 - t / T)`, and 0 for t > T.

    This IS `keras.optimizers.schedules.PolynomialDecay(alpha_0, T,
    end_learning_rate=0, power=1, cycle=False)` (Keras computes
    `(alpha_0 - 0) (1 - min(t, T) / T) ** 1 + 0`; the tests check it against
    the formula): this thin subclass fixes those arguments, validates the
    rest and registers the class in the `deeprob` package.

    Args:
        initial_learning_rate: float > 0, alpha_0.
        decay_steps: int > 0, T.
        name: optional name of the schedule.

    Example:

    >>> schedule = LinearDecay(0.1, decay_steps=100)
    >>> [round(float(schedule(t)), 4) for t in (0, 25, 100, 150)]
    [0.1, 0.075, 0.0, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, name="LinearDecay"):
        initial_learning_rate = _checks.positive_number("initial_learning_rate", initial_learning_rate)
        decay_steps = _checks.positive_int("decay_steps", decay_steps)
        super().__init__(initial_learning_rate, decay_steps, end_learning_rate=0.0,
                         power=1.0, cycle=False, name=name)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "name": self.name,
        }
