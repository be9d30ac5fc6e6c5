"""`AtomicPusher`: TFX's Pusher, but a pushed version directory is complete or absent.

TFX 1.16's stock Pusher executor (`tfx/components/pusher/executor.py`) copies
the model file by file straight into `<base_directory>/<version>/` (with
`saved_model.pb` last). A process killed during that copy leaves a numeric
version directory holding part of a model; TF Serving would try to load it,
and the stock executor skips any later push to a directory that exists.

Here the model is copied into a hidden sibling `<base_directory>/.tmp-<version>`
(TF Serving only looks at numeric names), checked against the source (same
files, same sizes, `saved_model.pb` and the variables index present), and
renamed to `<base_directory>/<version>` in one rename. Leftover `.tmp-*`
folders of a killed push are removed by the next push.

The rename is atomic on a local POSIX filesystem. On object stores (gs://,
s3://) a directory "rename" is a copy then a delete, so there the guarantee is
only that the numeric directory appears after the model is complete.
"""

import os
import time

from absl import logging
from tfx.components.pusher import executor as pusher_executor
from tfx.components.pusher.component import Pusher
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

TMP_PREFIX = ".tmp-"
REQUIRED_FILES = ("saved_model.pb", os.path.join("variables", "variables.index"))


class IncompletePushError(RuntimeError):
    """The copy in the temporary directory does not match the source model."""


def _copy_file(src, dst):
    """Copies one file (a seam for tests that simulate a kill in the middle of a push)."""
    fileio.copy(src, dst, overwrite=True)


def _files(root):
    """{relative path: size} of every file under `root`."""
    found = {}
    for dirpath, _, filenames in fileio.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, root)] = fileio.stat(path).length
    return found


def is_complete_saved_model(path):
    """True when `path` has `saved_model.pb`, the variables index and every variables shard it names.

    Shards are `variables/variables.data-0000k-of-0000n`; all n must be present.
    Reads only file names (no TensorFlow import).
    """
    if not all(fileio.exists(os.path.join(path, f)) for f in REQUIRED_FILES):
        return False
    shards = [f for f in fileio.listdir(os.path.join(path, "variables")) if ".data-" in f]
    if not shards:
        return False
    try:
        total = int(shards[0].rsplit("-of-", 1)[1])
    except (IndexError, ValueError):
        return False
    return len(set(shards)) == total


def numeric_versions(base_directory):
    """The numeric version folder names under `base_directory` (complete or not), as ints."""
    if not fileio.isdir(base_directory):
        return []
    return sorted(int(d.rstrip("/")) for d in fileio.listdir(base_directory) if d.rstrip("/").isdigit())


def remove_stale_tmp_dirs(base_directory):
    """Removes `.tmp-*` folders left by a killed push; returns their paths."""
    removed = []
    if fileio.isdir(base_directory):
        for name in fileio.listdir(base_directory):
            name = name.rstrip("/")
            if name.startswith(TMP_PREFIX):
                path = os.path.join(base_directory, name)
                logging.warning("AtomicPusher: removing %s left by an interrupted push", path)
                fileio.rmtree(path)
                removed.append(path)
    return removed


def _fsync_tree(root):
    """Flushes a local tree to disk (files, then folders), so the rename never precedes the data."""
    if "://" in root:
        return
    for dirpath, _, filenames in os.walk(root, topdown=False):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fd = os.open(dirpath, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_push(model_path, base_directory, version=None):
    """Copies the SavedModel at `model_path` to `<base_directory>/<version>` atomically.

    Args:
        model_path: the SavedModel folder to push.
        base_directory: the serving directory (TF Serving layout).
        version: an int; default: the Unix time, raised above every version
            already present so that TF Serving serves the new model.

    Returns:
        (version as str, path of the version folder).

    Raises:
        IncompletePushError: the copy does not match the source (nothing is
            renamed into place; the temporary folder is removed).

    Example:
        >>> atomic_push("root/Trainer/model/7/Format-Serving", "runs/pipeline/serving")
        ('1718000000', 'runs/pipeline/serving/1718000000')
    """
    fileio.makedirs(base_directory)
    remove_stale_tmp_dirs(base_directory)
    if version is None:
        version = max([int(time.time())] + [v + 1 for v in numeric_versions(base_directory)])
    version = str(int(version))
    final = os.path.join(base_directory, version)
    if fileio.exists(final):
        raise FileExistsError(f"version folder already exists: {final}")
    tmp = os.path.join(base_directory, TMP_PREFIX + version)
    source = _files(model_path)
    for rel in sorted(source):
        dst = os.path.join(tmp, rel)
        fileio.makedirs(os.path.dirname(dst))
        _copy_file(os.path.join(model_path, rel), dst)
    for empty in _empty_dirs(model_path):  # e.g. an empty assets/ folder
        fileio.makedirs(os.path.join(tmp, empty))
    copied = _files(tmp)
    if copied != source or not is_complete_saved_model(tmp):
        missing = sorted(set(source) - set(copied))
        differing = sorted(k for k in source if k in copied and copied[k] != source[k])
        fileio.rmtree(tmp)
        raise IncompletePushError(
            f"copy of {model_path} is incomplete (missing {missing}, size differs {differing}); nothing pushed")
    _fsync_tree(tmp)
    fileio.rename(tmp, final)
    if "://" not in base_directory:
        fd = os.open(base_directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return version, final


def _empty_dirs(root):
    found = []
    for dirpath, dirnames, filenames in fileio.walk(root):
        if not dirnames and not filenames and dirpath.rstrip("/") != root.rstrip("/"):
            found.append(os.path.relpath(dirpath, root))
    return found


class AtomicPusherExecutor(pusher_executor.Executor):
    """The stock Pusher executor with the filesystem push done by `atomic_push`."""

    def Do(self, input_dict, output_dict, exec_properties):
        self._log_startup(input_dict, output_dict, exec_properties)
        model_push = artifact_utils.get_single_instance(output_dict[standard_component_specs.PUSHED_MODEL_KEY])
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(model_push)
            return
        model_path = self.GetModelPath(input_dict)
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination)
        if destination.WhichOneof("destination") != "filesystem":
            raise NotImplementedError(f"AtomicPusher pushes to a filesystem only. Received: {destination}")
        versioning = destination.filesystem.versioning
        if versioning not in (pusher_pb2.Versioning.AUTO, pusher_pb2.Versioning.UNIX_TIMESTAMP):
            raise NotImplementedError(f"Invalid Versioning {versioning}")
        version, serving_path = atomic_push(model_path, destination.filesystem.base_directory)
        logging.info("AtomicPusher: model written to serving path %s.", serving_path)
        io_utils.copy_dir(model_path, model_push.uri)  # the archive copy, as the stock Pusher
        self._MarkPushed(model_push, pushed_destination=serving_path, pushed_version=version)


class AtomicPusher(Pusher):
    """`tfx.components.Pusher` whose executor is `AtomicPusherExecutor` (give it `.with_id("Pusher")`)."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(AtomicPusherExecutor)
