"""`build_schedule`: the recipe's `schedule` section -> a Keras learning-rate schedule."""

import math

from deeprob_keras.registry import Registry
from deeprob_keras.schedules import _checks
from deeprob_keras.schedules.constant_schedule import ConstantSchedule
from deeprob_keras.schedules.cosine_decay import CosineDecay
from deeprob_keras.schedules.cosine_restarts import CosineRestarts, cycle_end_steps
from deeprob_keras.schedules.inverse_sqrt_decay import InverseSqrtDecay
from deeprob_keras.schedules.linear_decay import LinearDecay
from deeprob_keras.schedules.linear_warmup import LinearWarmup
from deeprob_keras.schedules.step_decay import StepDecay


def _to_steps(epochs, steps_per_epoch):
    """Epochs (maybe fractional) -> whole steps, rounding half up."""
    return int(math.floor(epochs * steps_per_epoch + 0.5))


def _run_steps(spec, steps_per_epoch, epochs):
    """Validates the run length and the warmup; returns (total steps, warmup steps)."""
    steps_per_epoch = _checks.positive_int("steps_per_epoch", steps_per_epoch)
    epochs = _checks.positive_int("epochs", epochs)
    SCHEDULES.check(spec.name)
    total = steps_per_epoch * epochs
    _checks.number_at_least("warmup_epochs", spec.warmup_epochs, 0.0)
    warmup = _to_steps(spec.warmup_epochs, steps_per_epoch)
    if warmup >= total:
        raise ValueError(
            f"Expected a warmup shorter than the run ({total} steps = {epochs} epochs * "
            f"{steps_per_epoch} steps). Received: warmup_epochs={spec.warmup_epochs} "
            f"({warmup} steps)")
    return total, warmup


def _first_cycle_steps(spec, steps_per_epoch):
    _checks.positive_number("cycle_epochs", spec.cycle_epochs)
    first = _to_steps(spec.cycle_epochs, steps_per_epoch)
    if first <= 0:
        raise ValueError(
            f"Expected a cycle of at least one step ({steps_per_epoch} steps per epoch). "
            f"Received: cycle_epochs={spec.cycle_epochs}")
    return first


def _step_boundaries(spec, steps_per_epoch, warmup):
    """Absolute boundary epochs -> steps of the inner schedule (which starts after warmup)."""
    boundaries = [_to_steps(_checks.number_at_least("boundaries_epochs", e, 0.0), steps_per_epoch)
                  for e in spec.boundaries_epochs]
    if any(b <= warmup for b in boundaries):
        raise ValueError(
            f"Expected every boundary after the warmup ({warmup} steps). "
            f"Received: boundaries_epochs={list(spec.boundaries_epochs)}")
    if any(a >= b for a, b in zip(boundaries, boundaries[1:])):
        raise ValueError(
            "Expected strictly increasing boundaries (after rounding to whole steps, "
            f"{steps_per_epoch} steps per epoch). Received: boundaries_epochs={list(spec.boundaries_epochs)}")
    return [b - warmup for b in boundaries]


# schedule.name -> builder(spec, peak lr, steps_per_epoch, warmup steps, decay steps) of the decay
# schedule (wrapped in LinearWarmup by `build_schedule`). The recipe's choices come from here.
SCHEDULES = Registry("schedule.name", {
    "constant": lambda spec, lr, steps_per_epoch, warmup, decay_steps: ConstantSchedule(lr),
    "step": lambda spec, lr, steps_per_epoch, warmup, decay_steps: StepDecay(
        lr, _step_boundaries(spec, steps_per_epoch, warmup), gamma=spec.gamma),
    "cosine": lambda spec, lr, steps_per_epoch, warmup, decay_steps: CosineDecay(
        lr, decay_steps, min_lr_fraction=spec.min_lr_fraction),
    "linear": lambda spec, lr, steps_per_epoch, warmup, decay_steps: LinearDecay(lr, decay_steps),
    "inverse_sqrt": lambda spec, lr, steps_per_epoch, warmup, decay_steps: InverseSqrtDecay(lr),
    "cosine_restarts": lambda spec, lr, steps_per_epoch, warmup, decay_steps: CosineRestarts(
        lr, _first_cycle_steps(spec, steps_per_epoch), cycle_mult=spec.cycle_mult,
        min_lr_fraction=spec.min_lr_fraction),
})


def build_schedule(spec, learning_rate, steps_per_epoch, epochs):
    """Builds the learning-rate schedule described by a recipe's `schedule` section.

    Epoch quantities become whole steps (`round(epochs * steps_per_epoch)`):
    `warmup_epochs` -> W, `boundaries_epochs` (absolute epochs of the run,
    warmup included) -> step boundaries, `cycle_epochs` -> T_0. The decay
    schedule (`SCHEDULES[spec.name]`) gets `T = steps_per_epoch * epochs - W`
    steps and is wrapped in `LinearWarmup` when W > 0. `learning_rate` is used
    as given: the linear scaling rule belongs to the run plan
    (`deeprob_keras.training.plan.RunPlan.learning_rate`).

    Args:
        spec: a `deeprob_keras.recipe.schema.ScheduleSpec`.
        learning_rate: float > 0, the peak rate.
        steps_per_epoch: int > 0.
        epochs: int > 0.

    Returns:
        A `keras.optimizers.schedules.LearningRateSchedule`.

    Example:

    >>> spec = ScheduleSpec(name="cosine", warmup_epochs=1)
    >>> schedule = build_schedule(spec, 0.1, steps_per_epoch=100, epochs=10)
    >>> type(schedule).__name__, schedule.warmup_steps, schedule.schedule.decay_steps
    ('LinearWarmup', 100, 900)
    """
    total, warmup = _run_steps(spec, steps_per_epoch, epochs)
    lr = _checks.positive_number("learning_rate", learning_rate)
    inner = SCHEDULES[spec.name](spec, lr, steps_per_epoch, warmup, total - warmup)
    return LinearWarmup(inner, warmup) if warmup else inner


def schedule_snapshot_steps(spec, steps_per_epoch, epochs):
    """Absolute steps (warmup included) at which the `cosine_restarts` cycles end.

    Each value is `optimizer.iterations` right after the last update of a
    complete cycle, i.e. when a snapshot ensemble saves its weights; see
    `cycle_end_steps`. Only cycles complete within the run are listed.

    Args:
        spec: a `ScheduleSpec` with `name="cosine_restarts"`.
        steps_per_epoch: int > 0.
        epochs: int > 0.

    Returns:
        A list of increasing ints in (W, steps_per_epoch * epochs].

    Example:

    >>> spec = ScheduleSpec(name="cosine_restarts", cycle_epochs=2, warmup_epochs=1)
    >>> schedule_snapshot_steps(spec, steps_per_epoch=10, epochs=7)
    [30, 50, 70]
    """
    total, warmup = _run_steps(spec, steps_per_epoch, epochs)
    if spec.name != "cosine_restarts":
        raise ValueError(
            f"Expected name='cosine_restarts' (snapshots are taken at cycle ends). Received: name={spec.name!r}")
    first = _first_cycle_steps(spec, steps_per_epoch)
    return [warmup + s for s in cycle_end_steps(first, spec.cycle_mult, total - warmup)]
