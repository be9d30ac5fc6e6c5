"""Multi-worker data-parallel training: `MultiWorkerMirroredStrategy` with our own train step.

Keras 3 `model.fit` under `tf.distribute.MultiWorkerMirroredStrategy` fails on
TF 2.16 ("Attempt to convert a value (PerReplica ...)", keras-team/keras#20585,
tensorflow/tensorflow#72388), so this path does not call `fit`: it runs a
`GradientTape` step under `strategy.run` and drives by hand what the `fit` path's
callbacks do (history, NaN/Inf stop, per-epoch checkpoint and resume, progress).
Model, optimizer, schedule (with the linear scaling rule) and loss come from the
same builders as `train_recipe`.

Every worker runs the same program with its own `TF_CONFIG`; `run_local_workers`
starts N of them on loopback for a one-machine try-out.
"""

import csv
import hashlib
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import keras
import numpy as np
import tensorflow as tf

from deeprob_keras.callbacks.best_checkpoint import BestCheckpoint, monitor_mode, read_best_value
from deeprob_keras.recipe import RecipeError, save_recipe
from deeprob_keras.training import run_dir
from deeprob_keras.training.run import TrainingDiverged, TrainResult, build_compiled_model, load_augmented_datasets
from deeprob_keras.training.plan import RunPlan, global_batch_size as plan_global_batch_size

_TASK_TYPES = ("chief", "worker")


class ClusterConfigError(ValueError):
    """`TF_CONFIG` is missing or does not describe this worker's place in a cluster."""


class WorkerFailed(RuntimeError):
    """A worker process of `run_local_workers` exited with a non-zero code."""

    def __init__(self, message, returncode):
        super().__init__(message)
        self.returncode = returncode


def cluster_config(environ=None):
    """Reads and checks `TF_CONFIG`, the cluster description of one worker.

    `TF_CONFIG` is JSON: `{"cluster": {"worker": ["host0:port", "host1:port"]},
    "task": {"type": "worker", "index": 0}}`; a `"chief"` list of one address
    may sit beside `"worker"`. The chief (task `chief`, else `worker` 0) writes
    the run's outputs.

    Args:
        environ: mapping to read `TF_CONFIG` from; defaults to `os.environ`.

    Returns:
        The parsed dict, with `task["index"]` an int.

    Raises:
        ClusterConfigError: naming `TF_CONFIG` and what is wrong with it.

    Example:

    >>> cluster_config({"TF_CONFIG": '{"cluster": {"worker": ["127.0.0.1:2222"]}, '
    ...                 '"task": {"type": "worker", "index": 0}}'})["task"]
    {'type': 'worker', 'index': 0}
    """
    environ = os.environ if environ is None else environ
    raw = environ.get("TF_CONFIG")
    example = ('e.g. TF_CONFIG=\'{"cluster": {"worker": ["host0:12345", "host1:12345"]}, '
               '"task": {"type": "worker", "index": 0}}\'')
    if not raw:
        raise ClusterConfigError(
            f"multi-worker training needs the environment variable TF_CONFIG ({example}); "
            "on one machine, `deeprob multi-worker-local` sets it for each worker. Received: TF_CONFIG unset")
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ClusterConfigError(f"TF_CONFIG is not valid JSON ({e}). Received: TF_CONFIG={raw!r}") from None
    if not isinstance(config, dict) or not isinstance(config.get("cluster"), dict) \
            or not isinstance(config.get("task"), dict):
        raise ClusterConfigError(
            f"Expected TF_CONFIG with a 'cluster' and a 'task' object ({example}). Received: TF_CONFIG={raw!r}")
    cluster, task = config["cluster"], config["task"]
    unknown = sorted(set(cluster) - set(_TASK_TYPES))
    if unknown:
        raise ClusterConfigError(
            f"TF_CONFIG: this strategy has only {list(_TASK_TYPES)} tasks. Received: cluster keys {unknown}")
    for kind, addresses in cluster.items():
        if not isinstance(addresses, list) or not addresses or \
                not all(isinstance(a, str) and ":" in a for a in addresses):
            raise ClusterConfigError(
                f"TF_CONFIG: cluster[{kind!r}] must be a non-empty list of 'host:port' strings. "
                f"Received: {addresses!r}")
    if len(cluster.get("chief", [])) > 1:
        raise ClusterConfigError(f"TF_CONFIG: at most one chief. Received: chief={cluster['chief']!r}")
    kind, index = task.get("type"), task.get("index", 0)
    if kind not in cluster:
        raise ClusterConfigError(
            f"TF_CONFIG: task.type must be one of the cluster's task types {sorted(cluster)}. Received: type={kind!r}")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(cluster[kind]):
        raise ClusterConfigError(
            f"TF_CONFIG: task.index must be an int in [0, {len(cluster[kind]) - 1}] for the "
            f"{len(cluster[kind])} {kind!r} address(es). Received: index={index!r}")
    return {**config, "task": {**task, "type": kind, "index": index}}


def is_chief(task_type, task_id, cluster):
    """The chief writes the outputs: task `chief`, or `worker` 0 when there is no chief."""
    if "chief" in cluster:
        return task_type == "chief"
    return task_type == "worker" and task_id == 0


def _check_supported(recipe):
    """Recipe knobs the custom loop does not drive; a clear error beats a silent no-op."""
    unsupported = {
        "training.ensemble_members > 1": recipe.training.ensemble_members > 1,
        "training.jit_compile": recipe.training.jit_compile,
        "training.steps_per_execution > 1": recipe.training.steps_per_execution > 1,
        "training.progressive_resize_min": recipe.training.progressive_resize_min is not None,
        "training.validate_last_epochs": recipe.training.validate_last_epochs is not None,
        "optimizer.use_ema": recipe.optimizer.use_ema,
        "callbacks.snapshots": recipe.callbacks.snapshots,
        "callbacks.early_stopping_patience": recipe.callbacks.early_stopping_patience is not None,
        "callbacks.update_ratio_every": recipe.callbacks.update_ratio_every is not None,
        "augmentation.tta": recipe.augmentation.tta != "none",
        "model.fractional_pooling_test_samples > 1": recipe.model.fractional_pooling_test_samples > 1,
        "transfer.mode=two_phase": recipe.transfer is not None and recipe.transfer.mode == "two_phase",
    }
    used = [name for name, on in unsupported.items() if on]
    if used:
        raise RecipeError(
            f"multi-worker training (custom train step) does not support {', '.join(used)}; "
            "train with `deeprob train` without --multi-worker, or turn these off")


def _best_checkpoint(recipe, out_dir, model, resuming):
    """The chief's `BestCheckpoint` (best.keras + its value), driven by hand from the loop;
    on a resume it starts from the best value already on disk."""
    spec = recipe.callbacks
    best_path = os.path.join(out_dir, "best.keras")
    checkpoint = BestCheckpoint(best_path, monitor=spec.monitor, mode=monitor_mode(spec.monitor),
                                initial_value_threshold=read_best_value(best_path, spec.monitor) if resuming else None)
    checkpoint.set_model(model)
    return checkpoint


def _distribute(strategy, dataset):
    """Each worker reads the whole in-memory dataset and keeps its own shard of every batch."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return strategy.experimental_distribute_dataset(dataset.with_options(options))


def _sparse_labels(y):
    return tf.argmax(y, axis=-1) if y.shape.rank == 2 else tf.cast(y, tf.int64)


def _sync_variables(strategy, variables, average=False):
    """Makes every replica's copy of `variables` equal: replica 0's values (the chief's,
    e.g. after it restored a checkpoint), or with `average` their mean over replicas."""
    tf_variables = [v.value if isinstance(v, keras.Variable) else v for v in variables]
    if not tf_variables:
        return

    @tf.function
    def gather():
        def fn():
            ctx = tf.distribute.get_replica_context()
            values = [tf.cast(tf.convert_to_tensor(v), tf.float64) for v in tf_variables]
            if average:
                return ctx.all_reduce(tf.distribute.ReduceOp.MEAN, values)
            first = tf.equal(ctx.replica_id_in_sync_group, 0)
            return ctx.all_reduce(tf.distribute.ReduceOp.SUM, [tf.where(first, x, tf.zeros_like(x)) for x in values])
        return strategy.run(fn)

    for variable, value in zip(tf_variables, gather()):
        variable.assign(tf.cast(strategy.experimental_local_results(value)[0], variable.dtype))


def _replica_local_statistics(model):
    """Float non-trainable weights (BatchNorm moving statistics): Keras creates them with
    aggregation "none", so each replica updates its copy from its own shard only."""
    return [v for v in model.non_trainable_variables if "float" in str(v.dtype)]


def weights_digest(model):
    """SHA-256 of a model's weights (bytes in order): equal digests mean identical weights."""
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(np.ascontiguousarray(w).tobytes())
    return digest.hexdigest()


def _load_history(path, start_epoch):
    if start_epoch == 0 or not os.path.exists(path):
        return []
    with open(path) as f:
        rows = list(csv.DictReader(f))[:start_epoch]
    return [{k: (int(v) if k == "epoch" else float(v)) for k, v in row.items()} for row in rows]


def _write_history(path, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def train_multi_worker(recipe, out_dir, strategy=None, verbose=1, max_steps=None, data_fn=None):
    """Trains `recipe` data-parallel over the workers of `TF_CONFIG`; returns `TrainResult`.

    Each worker runs this with its own `TF_CONFIG`. Every step, each replica
    computes the gradient of its shard of the global batch (`batch_size x
    replicas` examples) and the summed gradients update every copy of the
    weights, so all workers hold identical weights. The per-replica loss is

    `L_r = sum_i l(x_i) / (batch_size * replicas) + R(w) / replicas`

    (`tf.nn.compute_average_loss`, `tf.nn.scale_regularization_loss`), so the
    summed gradient is the gradient of the global batch's mean loss. With
    `optimizer.base_batch_size`, the peak learning rate follows the linear
    scaling rule with the global batch, as in `train_recipe`.

    The chief (task `chief`, else `worker` 0) prints one line per epoch and
    writes `recipe.yaml`, `history.csv`, `checkpoints/` (every epoch, when
    `callbacks.backup`; a re-run with the same `out_dir` resumes from it),
    `model.keras` and `metrics.json` in `out_dir`. Other workers write their
    checkpoints to a temporary directory, removed at the end, and nothing in
    `out_dir`. No SavedModel is exported; `model.keras` is the result.

    Args:
        recipe: a `deeprob_keras.recipe.Recipe`. Ensembles, EMA, snapshots,
            early stopping, update-ratio logging, TTA, XLA and two-phase transfer
            are not supported (`RecipeError`).
        out_dir: output directory (the same path may be given to every worker).
        strategy: a `tf.distribute.MultiWorkerMirroredStrategy`; by default one
            is created from `TF_CONFIG`, which is checked first.
        verbose: 0 silent, otherwise progress lines on the chief.
        max_steps: int > 0 or None; stop after this many optimizer steps in total.
        data_fn: replaces `load_recipe_datasets`, as in `train_recipe`.

    Returns:
        `TrainResult`; `metrics` has `test_accuracy`, `replicas`, `workers`,
        `weights_sha256` and this worker's `local_examples` (examples it trained
        on in its last epoch). `paths` is empty on non-chief workers.

    Raises:
        ClusterConfigError: `TF_CONFIG` missing or invalid.
        TrainingDiverged: the loss became NaN or Inf (nothing is saved).

    Example:

    ```python
    # on each machine, with its own TF_CONFIG:
    result = train_multi_worker(load_recipe("recipes/fashion_mnist.yaml"), "runs/mw")
    ```
    """
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 1):
        raise ValueError(f"Expected max_steps to be an int > 0 or None. Received: max_steps={max_steps!r}")
    _check_supported(recipe)
    if strategy is None:
        cluster_config()
        # Created before any other TensorFlow work, as the strategy requires.
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    resolver = strategy.cluster_resolver
    cluster = resolver.cluster_spec().as_dict()
    chief = is_chief(resolver.task_type, resolver.task_id, cluster)
    workers = sum(len(v) for v in cluster.values())
    say = print if (verbose and chief) else (lambda *a, **k: None)

    out_dir = os.path.abspath(out_dir)
    paths = {}
    if chief:
        # One run per directory, as `deeprob train`: another recipe's run there is refused.
        run_dir.prepare_run_dir(out_dir, recipe)
        paths["recipe"] = save_recipe(recipe, os.path.join(out_dir, "recipe.yaml"))
    keras.utils.set_random_seed(recipe.seed)
    replicas = strategy.num_replicas_in_sync
    datasets = load_augmented_datasets(recipe, plan_global_batch_size(recipe, replicas), data_fn)
    plan = RunPlan.from_recipe(recipe, datasets.num_examples["train"], replicas)
    global_batch_size = plan.global_batch_size
    model, steps_per_epoch = build_compiled_model(recipe, datasets, strategy, plan=plan)
    optimizer, loss_fn = model.optimizer, model.loss
    with strategy.scope():
        optimizer.build(model.trainable_variables)
    epoch_var = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            probs = model(x, training=True)
            per_example = loss_fn.call(y, probs)
            loss = tf.nn.compute_average_loss(per_example)
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(probs, -1), _sparse_labels(y)), tf.float32))
        count = tf.cast(tf.shape(x)[0], tf.float32)
        return loss, correct, count, tf.reduce_sum(tf.cast(x, tf.float64))

    def replica_eval(x, y):
        probs = model(x, training=False)
        loss_sum = tf.reduce_sum(loss_fn.call(y, probs))
        correct = tf.reduce_sum(tf.cast(tf.equal(tf.argmax(probs, -1), _sparse_labels(y)), tf.float32))
        return loss_sum, correct, tf.cast(tf.shape(x)[0], tf.float32)

    def total(value):
        return strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)

    @tf.function
    def train_step(batch):
        loss, correct, count, checksum = strategy.run(replica_step, args=batch)
        local = strategy.experimental_local_results
        return (total(loss), total(correct), total(count),
                tf.add_n(list(local(count))), tf.add_n(list(local(checksum))))

    @tf.function
    def eval_step(batch):
        return [total(v) for v in strategy.run(replica_eval, args=batch)]

    def evaluate(dataset):
        sums = np.zeros(3)
        for batch in _distribute(strategy, dataset):
            sums += [float(v) for v in eval_step(batch)]
        return sums[0] / max(sums[2], 1.0), sums[1] / max(sums[2], 1.0)

    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, epoch=epoch_var)
    temp_dir = None
    manager = None
    if recipe.callbacks.backup:
        if chief:
            checkpoint_dir = paths["checkpoints"] = os.path.join(out_dir, "checkpoints")
        else:  # every worker must save (collectives), but only the chief's copy is kept
            checkpoint_dir = temp_dir = tempfile.mkdtemp(prefix=f"deeprob-{resolver.task_type}{resolver.task_id}-")
        manager = tf.train.CheckpointManager(checkpoint, checkpoint_dir, max_to_keep=1)
    try:
        if chief and manager is not None and manager.latest_checkpoint:
            checkpoint.restore(manager.latest_checkpoint)
        # The chief's (possibly restored) state on every worker.
        _sync_variables(strategy, list(model.variables) + list(optimizer.variables) + [epoch_var])
        start_epoch = int(epoch_var.numpy())
        history_path = os.path.join(out_dir, "history.csv")
        rows = _load_history(history_path, start_epoch) if chief else []
        if start_epoch:
            say(f"deeprob: resuming from the checkpoint of epoch {start_epoch}", flush=True)
        say(f"deeprob: multi-worker training {recipe.name!r} on {datasets.num_examples} examples, "
            f"{workers} worker(s), {replicas} replica(s) in sync, global batch {global_batch_size}, "
            f"{steps_per_epoch} steps/epoch, {recipe.training.epochs} epochs, "
            f"{model.count_params():,} parameters", flush=True)
        best_checkpoint = _best_checkpoint(recipe, out_dir, model, resuming=start_epoch > 0) if chief else None
        train_dist = _distribute(strategy, datasets.train)
        statistics = _replica_local_statistics(model)
        started = time.time()
        local_examples, local_checksum = 0, 0.0
        epochs = recipe.training.epochs
        for epoch in range(start_epoch, epochs):
            epoch_start = time.time()
            sums = np.zeros(3)
            local_examples, local_checksum = 0, 0.0
            for batch_index, batch in enumerate(train_dist):
                loss, correct, count, n_local, checksum = (float(v) for v in train_step(batch))
                if not math.isfinite(loss):
                    step = int(optimizer.iterations.numpy())
                    message = (f"Non-finite loss ({loss}) at step {step} (batch {batch_index}): "
                               "learning rate too high or bad initialization. Stopping training.")
                    say(message, flush=True)
                    last = manager.latest_checkpoint if (chief and manager) else None
                    raise TrainingDiverged(
                        f"{message} Nothing was exported; last good checkpoint: "
                        f"{last or 'none (diverged in the first epoch)'}")
                sums += [loss * count, correct, count]
                local_examples += int(n_local)
                local_checksum += checksum
                if max_steps is not None and int(optimizer.iterations.numpy()) >= max_steps:
                    break
            # Every worker evaluates and saves the same BatchNorm statistics: their mean.
            _sync_variables(strategy, statistics, average=True)
            row = {"epoch": epoch, "loss": sums[0] / sums[2], "accuracy": sums[1] / sums[2]}
            if datasets.validation is not None:
                row["val_loss"], row["val_accuracy"] = evaluate(datasets.validation)
            row["epoch_seconds"] = time.time() - epoch_start
            rows.append(row)
            if best_checkpoint is not None and best_checkpoint.monitor in row:
                # Chief only: reads the (synced) weights. ModelCheckpoint formats its path with the logs.
                best_checkpoint.on_epoch_end(epoch, {k: v for k, v in row.items() if k != "epoch"})
            epoch_var.assign(epoch + 1)
            if manager is not None:
                manager.save()
            if chief:
                _write_history(history_path, rows)
            say(f"epoch {epoch + 1}/{epochs} - " + " - ".join(
                f"{k}: {v:.4f}" for k, v in row.items() if k not in ("epoch", "epoch_seconds"))
                + f" - {row['epoch_seconds']:.1f} s", flush=True)
            if max_steps is not None and int(optimizer.iterations.numpy()) >= max_steps:
                break
        train_seconds = time.time() - started
        best_epoch = None
        if recipe.callbacks.restore_best and datasets.validation is not None:
            # As `deeprob train`: evaluate and export the best validation epoch's weights.
            best_path = os.path.join(out_dir, "best.keras")
            if chief and os.path.exists(best_path):
                model.load_weights(best_path)
                with open(best_path + ".json") as f:
                    best_epoch = int(json.load(f)["epoch"])
            _sync_variables(strategy, list(model.variables))  # every worker calls it (collective)
        test_loss, test_acc = evaluate(datasets.test)
    finally:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)

    epoch_seconds = [r["epoch_seconds"] for r in rows if "epoch_seconds" in r]
    metrics = {
        "test_accuracy": float(test_acc), "test_loss": float(test_loss),
        "epochs_run": int(epoch_var.numpy()), "steps": int(optimizer.iterations.numpy()),
        "seconds_per_epoch": float(np.median(epoch_seconds)) if epoch_seconds else None,
        "train_seconds": train_seconds, "replicas": replicas, "workers": workers,
        "global_batch_size": global_batch_size,
        "num_examples": datasets.num_examples, "parameters": int(model.count_params()),
        "weights_sha256": weights_digest(model),
        "local_examples": local_examples, "local_input_checksum": local_checksum,
        "restored_best_epoch": best_epoch,
    }
    history = {k: [r[k] for r in rows if k in r] for k in (rows[0] if rows else {}) if k != "epoch"}
    if chief:
        paths["model"] = os.path.join(out_dir, "model.keras")
        model.save(paths["model"])
        if rows:
            paths["history"] = history_path
        paths["metrics"] = os.path.join(out_dir, "metrics.json")
        with open(paths["metrics"], "w") as f:
            json.dump({**metrics, "history": history, "paths": paths}, f, indent=2)
        run_dir.finish(out_dir)
    return TrainResult(model=model, history=history, metrics=metrics, paths=paths, recipe=recipe)


def free_ports(n, host="127.0.0.1"):
    """`n` distinct TCP ports that were free on `host` a moment ago."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def local_tf_configs(workers, host="127.0.0.1"):
    """One `TF_CONFIG` (a JSON string) per worker of a loopback cluster on free ports."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"Expected workers to be an int >= 1. Received: workers={workers!r}")
    addresses = [f"{host}:{port}" for port in free_ports(workers, host)]
    return [json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": i}})
            for i in range(workers)]


def _stop(processes):
    for p in processes:
        if p.poll() is None:
            p.terminate()
    deadline = time.time() + 10
    for p in processes:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_local_workers(command, workers=2, env=None, out=None, poll_seconds=0.2):
    """Starts `workers` processes of `command` on loopback, each with its own `TF_CONFIG`.

    Their output is streamed with a `[worker i]` prefix. When one exits with a
    non-zero code the others are stopped (they would wait forever for it in
    the next collective) and `WorkerFailed` is raised.

    Args:
        command: the argv list every worker runs, or a function `i -> argv`.
        workers: int >= 1.
        env: base environment (default `os.environ`); `TF_CONFIG` is set per worker.
        out: text stream for the prefixed output (default `sys.stdout`).

    Returns:
        The list of exit codes (all 0).

    Example:

    ```python
    run_local_workers([sys.executable, "-m", "deeprob_keras.cli", "train",
                       "recipes/fashion_mnist.yaml", "--multi-worker", "--out", "runs/mw"])
    ```
    """
    out = out or sys.stdout
    configs = local_tf_configs(workers)
    lock = threading.Lock()
    processes, threads = [], []

    def pump(i, stream):
        for line in stream:
            with lock:
                out.write(f"[worker {i}] {line}")
                out.flush()

    try:
        for i, tf_config in enumerate(configs):
            worker_env = dict(os.environ if env is None else env)
            worker_env.update({"TF_CONFIG": tf_config, "PYTHONUNBUFFERED": "1"})
            worker_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
            argv = command(i) if callable(command) else list(command)
            p = subprocess.Popen(argv, env=worker_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True, bufsize=1)
            processes.append(p)
            t = threading.Thread(target=pump, args=(i, p.stdout), daemon=True)
            t.start()
            threads.append(t)
        while True:
            codes = [p.poll() for p in processes]
            failed = [(i, c) for i, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                i, code = failed[0]
                _stop(processes)
                for t in threads:
                    t.join(timeout=5)
                stopped = "; stopped the other workers" if workers > 1 else ""
                raise WorkerFailed(
                    f"worker {i} of {workers} exited with code {code} (its output is above, "
                    f"prefixed [worker {i}]){stopped}", code)
            if all(c == 0 for c in codes):
                for t in threads:
                    t.join(timeout=5)
                return codes
            time.sleep(poll_seconds)
    except BaseException:
        _stop(processes)
        raise
