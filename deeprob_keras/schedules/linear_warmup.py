"""Linear warmup in front of any learning-rate schedule."""

import keras
from keras import ops

from deeprob_keras.schedules import _checks


def linear_warmup(step, schedule, warmup_steps):
    """`schedule(0) * t / W` for t < W, then `schedule(t - W)`."""
    step = ops.convert_to_tensor(step)
    dtype = keras.config.floatx()
    t = ops.cast(step, dtype)
    warm = ops.cast(schedule(0), dtype) * t / float(warmup_steps)
    after = ops.cast(schedule(ops.maximum(step - ops.cast(warmup_steps, step.dtype), 0)), dtype)
    return ops.where(t < float(warmup_steps), warm, after)


@keras.saving.register_keras_serializable(package="deeprob")
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to a wrapped schedule, then that schedule.

    `alpha_t = alpha^inner_0 * t / W` for `t < W`, and
    `alpha_t = alpha^inner_{t - W}` for `t >= W`:
    the wrapped schedule starts, at its own step 0, when the warmup ends, so
    give it `T = total_steps - W` steps (as `build_schedule` does). Large
    batches with the linear scaling rule need it (Goyal et al. 2017).

    `get_config` nests the wrapped schedule with
    `keras.saving.serialize_keras_object` (class and config), so that
    `from_config` and `.keras` files rebuild it.

    Args:
        schedule: a `keras.optimizers.schedules.LearningRateSchedule`.
        warmup_steps: int > 0, W.
        name: optional name of the schedule.

    Example:

    >>> schedule = LinearWarmup(CosineDecay(0.1, decay_steps=900), warmup_steps=100)
    >>> [round(float(schedule(t)), 4) for t in (0, 50, 100, 550, 1000)]
    [0.0, 0.05, 0.1, 0.05, 0.0]
    """

    def __init__(self, schedule, warmup_steps, name="LinearWarmup"):
        super().__init__()
        if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            raise ValueError(
                "Expected a keras.optimizers.schedules.LearningRateSchedule. "
                f"Received: schedule={schedule!r}")
        self.schedule = schedule
        self.warmup_steps = _checks.positive_int("warmup_steps", warmup_steps)
        self.name = name

    def __call__(self, step):
        return linear_warmup(step, self.schedule, self.warmup_steps)

    def get_config(self):
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "warmup_steps": self.warmup_steps,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["schedule"] = keras.saving.deserialize_keras_object(config["schedule"])
        return cls(**config)
