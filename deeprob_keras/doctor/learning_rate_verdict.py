"""Reading a short loss curve: is the learning rate too high, too low, or fine?"""

import numpy as np

TOO_HIGH = "too high"
TOO_LOW = "too low"
OK = "ok"
CAUSE_HIGH = "learning rate too high or bad initialization (the loss explodes or turns Inf/NaN)"
CAUSE_LOW = "learning rate too low or bad initialization (the loss is not going down)"


def classify_learning_rate(losses, min_drop=0.1, explode_factor=1.5, window=5):
    """Classifies a loss curve as "too high", "too low" or "ok".

    The reference is the first loss (the untrained model's, about log C);
    "last" is the mean of the last `window` losses.

    - "too high": a non-finite loss; or, unless the loss dropped by `min_drop`,
      a last mean above 1.1 x the first loss or any loss above
      `explode_factor` x the first (the loss grows or jumps around);
    - "ok": last <= (1 - min_drop) x first;
    - "too low" otherwise (the loss is not going down).

    Args:
        losses: the loss of every step, in order (at least 2 values).
        min_drop: relative drop counted as "going down", in (0, 1). Default 0.1.
        explode_factor: growth counted as exploding, > 1. Default 1.5.
        window: steps averaged at each end, >= 1. Default 5.

    Returns:
        (label, relative_drop) with relative_drop = 1 - last/first (NaN when not finite).

    Example:
        >>> classify_learning_rate([2.3, 2.3, 2.29, 2.3])
        ('too low', 0.0...)
    """
    if not 0.0 < min_drop < 1.0:
        raise ValueError(f"Expected a float between 0 and 1 (exclusive). Received: min_drop={min_drop}")
    if explode_factor <= 1.0:
        raise ValueError(f"Expected a float > 1. Received: explode_factor={explode_factor}")
    losses = np.asarray(losses, dtype=np.float64)
    if losses.size < 2:
        raise ValueError(f"Expected at least 2 losses. Received: {losses.size}")
    if not np.all(np.isfinite(losses)):
        return TOO_HIGH, float("nan")
    w = max(1, min(int(window), losses.size // 2))
    first, last = float(losses[0]), float(np.mean(losses[-w:]))
    drop = 1.0 - last / first if first > 0 else 0.0
    if drop >= min_drop:
        return OK, drop
    if last > 1.1 * first or float(np.max(losses)) > explode_factor * first:
        return TOO_HIGH, drop
    return TOO_LOW, drop
