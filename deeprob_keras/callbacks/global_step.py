"""The optimizer's step count, as callbacks see it."""

import keras


def global_step(model, fallback):
    """`model.optimizer.iterations` once the optimizer is built (it survives a resume
    through BackupAndRestore), else `fallback` (the callback's own batch count)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        return int(keras.ops.convert_to_numpy(optimizer.iterations))
    return fallback
