"""Re-running a local pipeline run that did not finish (killed, or a component failed).

`deeprob pipeline run` normally runs every component (no TFX cache: a changed
Trainer module must not be skipped). When the newest run of the pipeline in ML
Metadata did not finish - an execution left RUNNING by a kill, or FAILED, or
the Pusher never reached - the same command turns TFX's cache on for the next
run: every component whose inputs and properties are unchanged is reused
(its execution is recorded as CACHED) and the rest run again.

ImportExampleGen fingerprints its input files by size and mtime, and the
examples writer rewrites them on every run (with the same examples, though not
always the same bytes: protobuf map order); `keep_unchanged_examples` puts the
old files back when they hold the same examples, otherwise every rerun would
look like new data.
"""

import contextlib
import dataclasses
import hashlib
import os
import shutil

DONE_STATES = ("COMPLETE", "CACHED")
LAST_NODE = "Pusher"


@dataclasses.dataclass
class Interrupted:
    """The newest run of a pipeline, which did not finish."""

    run: str
    unfinished: dict  # node id -> its states in that run, e.g. {"Trainer": ["RUNNING"]}
    finished: list  # node ids that completed in that run

    def describe(self):
        left = ", ".join(f"{node} {'/'.join(states)}" for node, states in self.unfinished.items())
        return f"run {self.run} did not finish ({left or LAST_NODE + ' never ran'})"


def interrupted_run(config):
    """`Interrupted` when the newest run of `config.pipeline_name` in its metadata store did not finish, else None.

    Not finished: some execution is not COMPLETE/CACHED (RUNNING after a kill,
    FAILED, NEW), or the Pusher never ran.
    """
    if not os.path.exists(config.metadata_path):
        return None
    from deeprob_pipeline.metadata import run_summary

    summary = run_summary(config.metadata_path, config.pipeline_name)
    if summary["run"] is None:
        return None
    executions = summary["executions"]
    unfinished = {node: states for node, states in executions.items()
                  if any(state not in DONE_STATES for state in states)}
    if not unfinished and LAST_NODE in executions:
        return None
    finished = [node for node in executions if node not in unfinished]
    return Interrupted(summary["run"], unfinished, finished)


def _examples_digest(path):
    """sha256 of the tf.Examples in a GZIP TFRecord file, each serialized deterministically.

    Protobuf does not fix the order of map entries (an Example's features) in
    its bytes, so the same examples written twice can differ byte for byte.
    """
    import tensorflow as tf

    h = hashlib.sha256()
    for record in tf.data.TFRecordDataset(path, compression_type="GZIP").as_numpy_iterator():
        h.update(tf.train.Example.FromString(record).SerializeToString(deterministic=True))
    return h.hexdigest()


@contextlib.contextmanager
def keep_unchanged_examples(directory):
    """`*.tfrecord.gz` files under `directory` rewritten inside the block with the same tf.Examples
    are put back as they were (same bytes, same mtime), so ImportExampleGen sees the same input.

    Example:
        >>> with keep_unchanged_examples("runs/pipeline/data"):
        ...     write_examples("runs/pipeline/data", "fashion_mnist", 3000, 1000)
    """
    keep = os.path.join(directory, ".previous")  # not matched by the split patterns train/*, eval/*
    shutil.rmtree(keep, ignore_errors=True)
    saved = {}
    for dirpath, dirnames, names in os.walk(directory):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in sorted(names):
            if not name.endswith(".tfrecord.gz"):
                continue
            path = os.path.join(dirpath, name)
            backup = os.path.join(keep, str(len(saved)))
            os.makedirs(keep, exist_ok=True)
            try:
                os.link(path, backup)  # the writer removes the file; the link keeps its bytes and mtime
            except OSError:
                shutil.copy2(path, backup)
            saved[path] = (backup, _examples_digest(path))
    try:
        yield
        for path, (backup, digest) in saved.items():
            if os.path.exists(path) and _examples_digest(path) == digest:
                os.replace(backup, path)
    finally:
        shutil.rmtree(keep, ignore_errors=True)
