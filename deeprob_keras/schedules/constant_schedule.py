"""The constant learning rate, as a schedule (so that it composes with warmup)."""

import keras
from keras import ops

from deeprob_keras.schedules import _checks


def constant_schedule(step, initial_learning_rate):
    """alpha_t = alpha_0 for every step, shaped like `step`."""
    step = ops.convert_to_tensor(step)
    return ops.ones_like(ops.cast(step, keras.config.floatx())) * initial_learning_rate


@keras.saving.register_keras_serializable(package="deeprob")
class ConstantSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate that never changes.

    `alpha_t = alpha_0`

    Useful as the inner schedule of `LinearWarmup` ("warmup, then constant")
    and as the baseline every other schedule is compared against.

    Args:
        initial_learning_rate: float > 0, alpha_0.
        name: optional name of the schedule.

    Example:

    >>> schedule = ConstantSchedule(0.1)
    >>> round(float(schedule(1000)), 4)
    0.1
    """

    def __init__(self, initial_learning_rate, name="ConstantSchedule"):
        super().__init__()
        self.initial_learning_rate = _checks.positive_number(
            "initial_learning_rate", initial_learning_rate)
        self.name = name

    def __call__(self, step):
        return constant_schedule(step, self.initial_learning_rate)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "name": self.name}
