"""Inverse square-root decay: alpha_t = alpha_0 / sqrt(t)."""

import keras
from keras import ops

from deeprob_keras.schedules import _checks


def inverse_sqrt_decay(step, initial_learning_rate):
    """alpha_0 / sqrt(step + 1): the lecture's t counts from 1, optimizer steps from 0."""
    t = ops.cast(step, keras.config.floatx()) + 1.0
    return initial_learning_rate / ops.sqrt(t)


@keras.saving.register_keras_serializable(package="deeprob")
class InverseSqrtDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Inverse square-root decay of the learning rate.

    `alpha_t = alpha_0 / sqrt(t)`, with t counted from 1: optimizer step 0
    (the first update) uses `alpha_0 / sqrt(1) = alpha_0`, step s uses
    `alpha_0 / sqrt(s + 1)`. Keras has no such schedule (`InverseTimeDecay`
    decays as 1/t). It never reaches zero and needs no total step count;
    usually wrapped in `LinearWarmup`.

    Args:
        initial_learning_rate: float > 0, alpha_0.
        name: optional name of the schedule.

    Example:

    >>> schedule = InverseSqrtDecay(0.1)
    >>> round(float(schedule(3)), 4)   # 0.1 / sqrt(4)
    0.05
    """

    def __init__(self, initial_learning_rate, name="InverseSqrtDecay"):
        super().__init__()
        self.initial_learning_rate = _checks.positive_number(
            "initial_learning_rate", initial_learning_rate)
        self.name = name

    def __call__(self, step):
        return inverse_sqrt_decay(step, self.initial_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "name": self.name}
