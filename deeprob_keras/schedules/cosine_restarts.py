"""Cosine decay with warm restarts (SGDR), reusing Keras's `CosineDecayRestarts`."""

import math

import keras
from keras import ops

from deeprob_keras.schedules import _checks

# A cycle ending within this many steps of an integer ends at that integer
# (cycle lengths such as 10 * 1.1**3 are not exact in floating point).
_TOLERANCE = 1e-6


def cycle_end_steps(first_cycle_steps, cycle_mult, total_steps):
    """Steps at which the complete cycles of `CosineRestarts` end.

    Cycle i (from 0) lasts `first_cycle_steps * cycle_mult**i` steps, so cycle
    i ends at `S_{i+1} = first_cycle_steps * (1 + m + ... + m**i)`. The value
    returned for it is `ceil(S_{i+1})`: the number of updates done when the
    cycle is over, i.e. the value of `optimizer.iterations` right after its
    last update (its lowest learning rate) and the step at which the next
    cycle restarts at alpha_0. Only cycles that end at or before
    `total_steps` are listed.

    Args:
        first_cycle_steps: int > 0, length of the first cycle.
        cycle_mult: float >= 1, growth factor of the cycle length.
        total_steps: int >= 0, the length of the run.

    Returns:
        A list of increasing ints.

    Example:

    >>> cycle_end_steps(10, 2.0, 100)
    [10, 30, 70]
    """
    first_cycle_steps = _checks.positive_int("first_cycle_steps", first_cycle_steps)
    cycle_mult = _checks.number_at_least("cycle_mult", cycle_mult, 1.0)
    total_steps = _checks.positive_int("total_steps", total_steps, allow_zero=True)
    ends, end, length = [], 0.0, float(first_cycle_steps)
    while True:
        end += length
        step = math.ceil(end - _TOLERANCE)
        if step > total_steps:
            return ends
        ends.append(step)
        length *= cycle_mult


def cosine_restarts_equal_cycles(step, initial_learning_rate, cycle_steps, min_lr_fraction):
    """SGDR with equal cycles: cosine decay at `t_i = t mod T_0` (exact modulo)."""
    dtype = keras.config.floatx()
    step = ops.convert_to_tensor(step)
    t_i = ops.cast(ops.mod(step, ops.cast(cycle_steps, step.dtype)), dtype)
    a_min = min_lr_fraction * initial_learning_rate
    cosine = 0.5 * (1.0 + ops.cos(math.pi * t_i / float(cycle_steps)))
    return a_min + (initial_learning_rate - a_min) * cosine


@keras.saving.register_keras_serializable(package="deeprob")
class CosineRestarts(keras.optimizers.schedules.CosineDecayRestarts):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter 2017).

    Cycle i lasts `T_i = T_0 * m**i` steps; within it, with `t_i` the steps
    since the cycle began,
    `alpha_t = alpha_min + 1/2 (alpha_0 - alpha_min) (1 + cos(t_i pi / T_i))`,
    `alpha_min = f * alpha_0`. Every cycle restarts at alpha_0. The steps at
    which cycles end are given by `cycle_end_steps` (snapshot ensembles save
    the weights there).

    This IS `keras.optimizers.schedules.CosineDecayRestarts(alpha_0, T_0,
    t_mul=m, m_mul=1.0, alpha=f)` (checked against the formula at every step,
    including every restart, in the tests): this thin subclass fixes
    `m_mul=1` (each restart at alpha_0), renames the arguments, validates
    them and registers the class in the `deeprob` package. Note the
    defaults differ: Keras doubles the cycle (`t_mul=2`), we keep it
    (`cycle_mult=1`). One exception: with `cycle_mult=1` the position in the
    cycle is computed with an exact modulo (`t mod T_0`), because Keras's
    float32 `t / T_0 - floor(t / T_0)` drifts (1e-4 of alpha_0 after ~4,000
    cycles, worse later); see `cosine_restarts_equal_cycles`.

    Args:
        initial_learning_rate: float > 0, alpha_0.
        first_cycle_steps: int > 0, T_0.
        cycle_mult: float >= 1, m. Defaults to 1 (all cycles equal).
        min_lr_fraction: float in [0, 1], f. Defaults to 0.
        name: optional name of the schedule.

    Example:

    >>> schedule = CosineRestarts(0.1, first_cycle_steps=10, cycle_mult=2.0)
    >>> [round(float(schedule(t)), 4) for t in (0, 5, 10, 20, 30)]
    [0.1, 0.05, 0.1, 0.05, 0.1]
    """

    def __init__(self, initial_learning_rate, first_cycle_steps, cycle_mult=1.0,
                 min_lr_fraction=0.0, name="CosineRestarts"):
        initial_learning_rate = _checks.positive_number("initial_learning_rate", initial_learning_rate)
        first_cycle_steps = _checks.positive_int("first_cycle_steps", first_cycle_steps)
        cycle_mult = _checks.number_at_least("cycle_mult", cycle_mult, 1.0)
        min_lr_fraction = _checks.number_in_range("min_lr_fraction", min_lr_fraction, 0.0, 1.0)
        super().__init__(initial_learning_rate, first_cycle_steps, t_mul=cycle_mult,
                         m_mul=1.0, alpha=min_lr_fraction, name=name)
        self.first_cycle_steps = first_cycle_steps
        self.cycle_mult = cycle_mult
        self.min_lr_fraction = min_lr_fraction

    def __call__(self, step):
        if self.cycle_mult == 1.0:
            return cosine_restarts_equal_cycles(
                step, self.initial_learning_rate, self.first_cycle_steps, self.min_lr_fraction)
        return super().__call__(step)

    def cycle_end_steps(self, total_steps):
        """The steps at which this schedule's complete cycles end; see `cycle_end_steps`."""
        return cycle_end_steps(self.first_cycle_steps, self.cycle_mult, total_steps)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_cycle_steps": self.first_cycle_steps,
            "cycle_mult": self.cycle_mult,
            "min_lr_fraction": self.min_lr_fraction,
            "name": self.name,
        }
