"""Learning-rate schedules of "Training Neural Networks II" and their builder."""

from deeprob_keras.schedules.build import build_schedule, schedule_snapshot_steps
from deeprob_keras.schedules.constant_schedule import ConstantSchedule
from deeprob_keras.schedules.cosine_decay import CosineDecay
from deeprob_keras.schedules.cosine_restarts import CosineRestarts, cycle_end_steps
from deeprob_keras.schedules.inverse_sqrt_decay import InverseSqrtDecay
from deeprob_keras.schedules.linear_decay import LinearDecay
from deeprob_keras.schedules.linear_warmup import LinearWarmup
from deeprob_keras.schedules.plot import plot_schedule
from deeprob_keras.schedules.scaling import global_batch_size, linear_scaling_rule
from deeprob_keras.schedules.step_decay import StepDecay

__all__ = [
    "ConstantSchedule",
    "CosineDecay",
    "CosineRestarts",
    "InverseSqrtDecay",
    "LinearDecay",
    "LinearWarmup",
    "StepDecay",
    "build_schedule",
    "cycle_end_steps",
    "global_batch_size",
    "linear_scaling_rule",
    "plot_schedule",
    "schedule_snapshot_steps",
]
