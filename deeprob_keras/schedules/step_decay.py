"""Step decay: multiply the learning rate by gamma at fixed steps."""

import keras
from keras import ops

from deeprob_keras.schedules import _checks


def step_decay(step, initial_learning_rate, boundaries, gamma):
    """alpha_0 * gamma ** (number of boundaries b with step >= b)."""
    step = ops.convert_to_tensor(step)
    dtype = keras.config.floatx()
    passed = ops.zeros_like(ops.cast(step, dtype))
    for boundary in boundaries:
        passed = passed + ops.cast(ops.greater_equal(step, ops.cast(boundary, step.dtype)), dtype)
    return initial_learning_rate * ops.power(ops.cast(gamma, dtype), passed)


@keras.saving.register_keras_serializable(package="deeprob")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Step decay: multiply the learning rate by `gamma` at each boundary.

    `alpha_t = alpha_0 * gamma ** #{i : t >= b_i}`

    E.g. ResNet on ImageNet: multiply by 0.1 after epochs 30, 60 and 90, i.e.
    `boundaries=[30 * steps_per_epoch, 60 * steps_per_epoch, 90 * steps_per_epoch]`.
    The update with step index `b_i` (the first update of epoch 31) already
    uses the decayed rate, as PyTorch's `MultiStepLR` does.
    `keras.optimizers.schedules.PiecewiseConstantDecay(boundaries, values)` is
    NOT used: it switches one step later (`t > b_i`), see the tests.

    Args:
        initial_learning_rate: float > 0, alpha_0.
        boundaries: strictly increasing list of positive integer steps
            (may be empty: then the schedule is constant).
        gamma: float > 0, the factor applied at each boundary. Defaults to 0.1.
        name: optional name of the schedule.

    Example:

    >>> schedule = StepDecay(0.1, boundaries=[100, 200], gamma=0.1)
    >>> [round(float(schedule(t)), 4) for t in (0, 99, 100, 200)]
    [0.1, 0.1, 0.01, 0.001]
    """

    def __init__(self, initial_learning_rate, boundaries, gamma=0.1, name="StepDecay"):
        super().__init__()
        self.initial_learning_rate = _checks.positive_number(
            "initial_learning_rate", initial_learning_rate)
        if not isinstance(boundaries, (list, tuple)):
            raise ValueError(
                f"Expected a list of increasing positive integers. Received: boundaries={boundaries!r}")
        self.boundaries = [_checks.positive_int("boundaries", b) for b in boundaries]
        if any(a >= b for a, b in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(
                "Expected strictly increasing boundaries. "
                f"Received: boundaries={list(boundaries)!r}")
        self.gamma = _checks.positive_number("gamma", gamma)
        self.name = name

    def __call__(self, step):
        return step_decay(step, self.initial_learning_rate, self.boundaries, self.gamma)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "boundaries": list(self.boundaries),
            "gamma": self.gamma,
            "name": self.name,
        }
