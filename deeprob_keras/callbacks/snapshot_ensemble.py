"""Keep the weights at the end of every cosine-restart cycle (snapshot ensembles)."""

import os

import keras

from deeprob_keras.callbacks.global_step import global_step


def _validate_steps(steps):
    steps = [int(s) for s in steps]
    if not steps or any(s < 1 for s in steps):
        raise ValueError(f"Expected a non-empty list of step numbers >= 1. Received: steps={steps}")
    if any(b <= a for a, b in zip(steps, steps[1:])):
        raise ValueError(f"Expected strictly increasing step numbers. Received: steps={steps}")
    return steps


@keras.saving.register_keras_serializable(package="deeprob")
class SnapshotEnsemble(keras.callbacks.Callback):
    """Saves the model's weights at given absolute steps (the ends of LR cycles).

    Snapshot ensembles (Huang et al., 2017) train one model with a cyclic
    (cosine-with-restarts) learning rate and keep the weights at the end of each
    cycle, where the learning rate is at its minimum. The snapshots then form an
    ensemble (`deeprob_keras.ensembles.Ensemble.from_snapshots`).

    A snapshot is taken after the batch whose global step (number of optimizer
    updates so far, `optimizer.iterations`) first reaches each listed step, so
    it also works with `steps_per_execution > 1` and when resuming. The weights
    are those of the model at that point (the raw weights, never the EMA ones:
    `SwapEMAWeights` only swaps at epoch boundaries and for evaluation).

    Args:
        steps: strictly increasing list of global step numbers (>= 1), e.g. the
            cycle ends given by the schedules helper.
        directory: optional directory; snapshot i is also written to
            `directory/snapshot_{i}.weights.h5`.

    Attributes:
        snapshots: list of weight lists (`model.get_weights()`), one per snapshot.
        snapshot_steps: the global step of each snapshot.

    Example:

    ```python
    cb = SnapshotEnsemble(steps=[100, 200, 300], directory="run/snapshots")
    model.fit(x, y, epochs=..., callbacks=[cb])
    ensemble = Ensemble.from_snapshots(model, cb.snapshots)
    ```
    """

    def __init__(self, steps, directory=None):
        super().__init__()
        self.steps = _validate_steps(steps)
        self.directory = directory
        self.snapshots = []
        self.snapshot_steps = []
        self._seen = 0
        self._next = 0

    def _global_step(self):
        return global_step(self.model, self._seen)

    def on_train_begin(self, logs=None):
        # Steps already behind us (a resumed run) are not snapshotted again.
        step = self._global_step()
        self._next = sum(1 for s in self.steps if s <= step)
        self._reload_saved(self._next)

    def _reload_saved(self, count):
        """After a crash, the snapshots already written to `directory` are kept."""
        if not self.directory or len(self.snapshots) >= count:
            return
        holder = keras.models.clone_model(self.model)
        for i in range(len(self.snapshots), count):
            path = os.path.join(self.directory, f"snapshot_{i}.weights.h5")
            if not os.path.exists(path):
                break
            holder.load_weights(path)
            self.snapshots.append(holder.get_weights())
            self.snapshot_steps.append(self.steps[i])

    def on_train_batch_end(self, batch, logs=None):
        self._seen += 1
        step = self._global_step()
        reached = False
        while self._next < len(self.steps) and self.steps[self._next] <= step:
            self._next += 1
            reached = True
        if reached:
            self._take(step)

    def _take(self, step):
        self.snapshots.append(self.model.get_weights())
        self.snapshot_steps.append(step)
        if self.directory:
            os.makedirs(self.directory, exist_ok=True)
            self.model.save_weights(
                os.path.join(self.directory, f"snapshot_{len(self.snapshots) - 1}.weights.h5"))

    def get_config(self):
        return {"steps": list(self.steps), "directory": self.directory}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
