"""Every constructor argument is validated with a Keras-style ValueError."""

import pytest

from deeprob_keras.schedules import (ConstantSchedule, CosineDecay, CosineRestarts, InverseSqrtDecay,
                                     LinearDecay, LinearWarmup, StepDecay, cycle_end_steps)


@pytest.mark.parametrize("make,message", [
    (lambda: ConstantSchedule(0.0), "Expected a positive number for `initial_learning_rate`. Received: initial_learning_rate=0.0"),
    (lambda: ConstantSchedule(float("nan")), "initial_learning_rate=nan"),
    (lambda: InverseSqrtDecay(-1.0), "Expected a positive number for `initial_learning_rate`. Received: initial_learning_rate=-1.0"),
    (lambda: StepDecay(0.1, [10], gamma=0.0), "Expected a positive number for `gamma`. Received: gamma=0.0"),
    (lambda: StepDecay(0.1, [10, 10]), r"Expected strictly increasing boundaries. Received: boundaries=\[10, 10\]"),
    (lambda: StepDecay(0.1, [20, 10]), "strictly increasing"),
    (lambda: StepDecay(0.1, [0, 10]), "Expected a positive integer for `boundaries`. Received: boundaries=0"),
    (lambda: StepDecay(0.1, [1.5]), "Received: boundaries=1.5"),
    (lambda: StepDecay(0.1, 10), "Received: boundaries=10"),
    (lambda: CosineDecay(0.1, 0), "Expected a positive integer for `decay_steps`. Received: decay_steps=0"),
    (lambda: CosineDecay(0.1, 10, min_lr_fraction=1.5), r"Expected a number in \[0.0, 1.0\] for `min_lr_fraction`. Received: min_lr_fraction=1.5"),
    (lambda: CosineDecay(0.1, 10, min_lr_fraction=-0.1), "min_lr_fraction=-0.1"),
    (lambda: LinearDecay(0.1, -3), "Expected a positive integer for `decay_steps`. Received: decay_steps=-3"),
    (lambda: LinearDecay(0, 3), "initial_learning_rate=0"),
    (lambda: CosineRestarts(0.1, 0), "Expected a positive integer for `first_cycle_steps`. Received: first_cycle_steps=0"),
    (lambda: CosineRestarts(0.1, 10, cycle_mult=0.9), "Expected a number >= 1.0 for `cycle_mult`. Received: cycle_mult=0.9"),
    (lambda: CosineRestarts(0.1, 10, min_lr_fraction=2), "min_lr_fraction=2"),
    (lambda: LinearWarmup(ConstantSchedule(0.1), -1), "Expected a positive integer for `warmup_steps`. Received: warmup_steps=-1"),
    (lambda: LinearWarmup(ConstantSchedule(0.1), 0), "warmup_steps=0"),
    (lambda: LinearWarmup(ConstantSchedule(0.1), True), "warmup_steps=True"),
    (lambda: LinearWarmup(0.1, 10), "LearningRateSchedule. Received: schedule=0.1"),
    (lambda: cycle_end_steps(0, 1.0, 10), "first_cycle_steps=0"),
    (lambda: cycle_end_steps(10, 0.5, 10), "cycle_mult=0.5"),
    (lambda: cycle_end_steps(10, 1.0, -1), "Expected a non-negative integer for `total_steps`. Received: total_steps=-1"),
])
def test_bad_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()
