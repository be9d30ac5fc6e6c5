"""Cosine decay with warm restarts (SGDR), a subclass of Keras's `CosineDecayRestarts`
whose cycle is found exactly (float64, the same cycle ends as `cycle_end_steps`)."""

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
    ends, cycle = [], 1
    while True:
        step = math.ceil(_cycle_start(first_cycle_steps, cycle_mult, cycle) - _TOLERANCE)
        if step > total_steps:
            return ends
        ends.append(step)
        cycle += 1


def _cycle_start(first_cycle_steps, cycle_mult, i):
    """S_i = T_0 (m**i - 1) / (m - 1) (T_0 i when m = 1), in float64: where cycle i begins."""
    if cycle_mult == 1.0:
        return float(first_cycle_steps) * i
    return float(first_cycle_steps) * (cycle_mult ** i - 1.0) / (cycle_mult - 1.0)


def cosine_restarts_growing_cycles(step, initial_learning_rate, first_cycle_steps, cycle_mult, min_lr_fraction):
    """SGDR with cycles growing `cycle_mult` times, the cycle found exactly (graph-safe).

    Keras's `CosineDecayRestarts` finds the cycle with a float32 logarithm,
    which picks the previous cycle at some exact cycle ends (step 81,910 of
    `T_0=10, m=2`, a restart, gave the cycle's lowest rate). Here, in float64:
    a first guess `i = floor(log(1 + t (m - 1) / T_0) / log m)`, then corrected
    by one cycle so that `E_i <= t < E_{i+1}` with `E_i = ceil(S_i - 1e-6)`, the
    cycle ends listed by `cycle_end_steps`. Within the cycle,
    `t_i = max(t - S_i, 0)` and `T_i = T_0 m**i`.
    """
    step = ops.convert_to_tensor(step)
    t = ops.cast(step, "float64")
    m, t0 = float(cycle_mult), float(first_cycle_steps)

    def start(i):
        return t0 * (ops.power(ops.convert_to_tensor(m, dtype="float64"), i) - 1.0) / (m - 1.0)

    def end(i):  # the step at which cycle i begins, as cycle_end_steps lists it
        return ops.ceil(start(i) - _TOLERANCE)

    i = ops.floor(ops.log(1.0 + t * (m - 1.0) / t0) / math.log(m))
    i = ops.maximum(i, 0.0)
    i = ops.where(t < end(i), ops.maximum(i - 1.0, 0.0), i)
    i = ops.where(t >= end(i + 1.0), i + 1.0, i)
    t_i = ops.maximum(t - start(i), 0.0)
    length = t0 * ops.power(ops.convert_to_tensor(m, dtype="float64"), i)
    a0 = float(initial_learning_rate)
    a_min = min_lr_fraction * a0
    cosine = 0.5 * (1.0 + ops.cos(math.pi * ops.minimum(t_i / length, 1.0)))
    return ops.cast(a_min + (a0 - a_min) * cosine, keras.config.floatx())


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

    This is the formula of `keras.optimizers.schedules.CosineDecayRestarts(
    alpha_0, T_0, t_mul=m, m_mul=1.0, alpha=f)` (checked against the lecture's
    formula at every step, including every restart, in the tests): the
    subclass fixes `m_mul=1` (each restart at alpha_0), renames the arguments,
    validates them and registers the class in the `deeprob` package. Note the
    defaults differ: Keras doubles the cycle (`t_mul=2`), we keep it
    (`cycle_mult=1`). The cycle is not found Keras's way (in float32, which
    drifts): with `cycle_mult=1` the position in the cycle is an exact modulo
    (`t mod T_0`, see `cosine_restarts_equal_cycles`; Keras drifts by 1e-4 of
    alpha_0 after ~4,000 cycles), otherwise the cycle is found in float64 and
    agrees with `cycle_end_steps` at every cycle end (see
    `cosine_restarts_growing_cycles`; Keras picks the previous cycle at some
    cycle ends, e.g. step 81,910 of `T_0=10, m=2`).

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
        return cosine_restarts_growing_cycles(
            step, self.initial_learning_rate, self.first_cycle_steps, self.cycle_mult, self.min_lr_fraction)

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
