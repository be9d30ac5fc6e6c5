"""`plot_schedule`: a PNG of a learning-rate schedule over a run."""

import os

import numpy as np

_MAX_POINTS = 4000


def _values(schedule, steps):
    """Evaluates `schedule` at every step, in one vectorized call when it allows it."""
    try:
        values = np.asarray(schedule(steps), dtype=np.float64)
        if values.shape == steps.shape:
            return values
    except Exception:  # a schedule written for scalar steps only
        pass
    return np.array([float(schedule(int(s))) for s in steps])


def plot_schedule(schedule, total_steps, path, steps_per_epoch=None, title=None):
    """Plots a learning-rate schedule over `total_steps` optimizer steps to a PNG.

    Uses matplotlib's Agg canvas directly (no display, no global backend
    change). At most 4,000 evenly spaced steps are evaluated, always including
    step 0 and the last step.

    Args:
        schedule: a `LearningRateSchedule` (or any callable step -> rate).
        total_steps: int > 0, the length of the run.
        path: where to write the PNG (parent folders are created).
        steps_per_epoch: int > 0 or None; when given the x axis is in epochs.
        title: optional title; defaults to the schedule's class name.

    Returns:
        `path`.

    Example:

    >>> plot_schedule(CosineDecay(0.1, 1000), 1000, "/tmp/cosine.png", steps_per_epoch=100)
    '/tmp/cosine.png'
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from deeprob_keras.schedules import _checks

    total_steps = _checks.positive_int("total_steps", total_steps)
    if steps_per_epoch is not None:
        steps_per_epoch = _checks.positive_int("steps_per_epoch", steps_per_epoch)
    if total_steps <= _MAX_POINTS:
        steps = np.arange(total_steps, dtype=np.int64)
    else:
        steps = np.unique(np.linspace(0, total_steps - 1, _MAX_POINTS).round().astype(np.int64))
    values = _values(schedule, steps)
    x = steps / steps_per_epoch if steps_per_epoch else steps

    fig = Figure(figsize=(7, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(x, values, linewidth=1.5)
    ax.set_xlabel("epoch" if steps_per_epoch else "step")
    ax.set_ylabel("learning rate")
    ax.set_title(title or type(schedule).__name__)
    ax.grid(True, alpha=0.3)
    ax.set_xlim(0, x[-1] if len(x) > 1 else 1)
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fig.savefig(path, format="png")
    return path
