"""Which `tf.distribute` strategy a training run uses on this machine.

`deeprob train` uses every local accelerator by default: `MirroredStrategy`
over the visible GPUs when there are two or more, the default (one-device)
strategy otherwise. The linear scaling rule then sees the replica count
through the run plan (`training/plan.py`): the global batch is
`training.batch_size x replicas`, and with `optimizer.base_batch_size` the
peak learning rate is scaled by `global_batch / base_batch_size`.

`cpu_replicas=N` splits the CPU into N logical devices and mirrors over
them: the same code path as N GPUs, for tests and demonstrations on a
machine without accelerators (it must run before TensorFlow initializes its
devices).
"""

from deeprob_keras.recipe.choices import STRATEGIES


def choose_strategy(name="auto", cpu_replicas=None):
    """Returns the `tf.distribute.Strategy` for `name`.

    Args:
        name: `"auto"` (MirroredStrategy over the GPUs when there are >= 2,
            else the default strategy), `"default"` (one device) or
            `"mirrored"` (MirroredStrategy over every visible GPU, or the CPU).
        cpu_replicas: optional int >= 2: mirror over that many logical CPU
            devices instead (overrides `name`).

    Returns:
        A `tf.distribute.Strategy`.

    Example:
    >>> strategy = choose_strategy("auto")
    >>> train_recipe(recipe, "runs/x", strategy=strategy)
    """
    if name not in STRATEGIES:
        raise ValueError(f"Expected `name` in {STRATEGIES}. Received: name={name!r}")
    if cpu_replicas is not None and (isinstance(cpu_replicas, bool) or not isinstance(cpu_replicas, int)
                                     or cpu_replicas < 2):
        raise ValueError(f"Expected an integer >= 2 for `cpu_replicas`. Received: cpu_replicas={cpu_replicas!r}")
    import tensorflow as tf

    if cpu_replicas is not None:
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * cpu_replicas)
        except RuntimeError as e:
            raise ValueError(
                f"cpu_replicas={cpu_replicas} needs to be set before TensorFlow initializes its devices ({e})") from None
        return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(cpu_replicas)])
    gpus = tf.config.list_physical_devices("GPU")
    if name == "mirrored" or (name == "auto" and len(gpus) >= 2):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()
