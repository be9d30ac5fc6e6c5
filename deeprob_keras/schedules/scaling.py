"""The linear scaling rule for large-batch training."""

from deeprob_keras.schedules import _checks


def linear_scaling_rule(base_lr, global_batch_size, base_batch_size):
    """Scales a learning rate with the batch size (Goyal et al. 2017).

    `alpha = alpha_base * N / N_base`: when the batch grows k times, the
    learning rate grows k times too (use with `LinearWarmup`).

    Args:
        base_lr: float > 0, the learning rate tuned at `base_batch_size`.
        global_batch_size: int > 0, N, the batch summed over all replicas.
        base_batch_size: int > 0, N_base.

    Returns:
        The scaled learning rate (float).

    Example:

    >>> linear_scaling_rule(0.1, global_batch_size=1024, base_batch_size=256)
    0.4
    """
    base_lr = _checks.positive_number("base_lr", base_lr)
    global_batch_size = _checks.positive_int("global_batch_size", global_batch_size)
    base_batch_size = _checks.positive_int("base_batch_size", base_batch_size)
    return base_lr * global_batch_size / base_batch_size


def global_batch_size(per_replica_batch, strategy=None):
    """The batch summed over replicas: `per_replica_batch * num_replicas_in_sync`.

    Args:
        per_replica_batch: int > 0, the batch each replica sees.
        strategy: a `tf.distribute.Strategy`; defaults to the current one
            (`tf.distribute.get_strategy()`, a single replica outside any scope).

    Example:

    >>> global_batch_size(128)   # outside any strategy scope
    128
    """
    per_replica_batch = _checks.positive_int("per_replica_batch", per_replica_batch)
    if strategy is None:
        import tensorflow as tf

        strategy = tf.distribute.get_strategy()
    return per_replica_batch * int(strategy.num_replicas_in_sync)
