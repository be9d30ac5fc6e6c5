"""AtomicPusher: a push interrupted mid-copy (exception or SIGKILL) leaves no numeric version
folder, the next push cleans up and succeeds; serve-check only loads complete numeric versions."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest
import tensorflow as tf
from tfx.types import standard_artifacts

from deeprob_pipeline import atomic_pusher
from deeprob_pipeline.atomic_pusher import (AtomicPusherExecutor, IncompletePushError, atomic_push,
                                    is_complete_saved_model)
from deeprob_pipeline.serve_check import main as serve_check_main
from deeprob_pipeline.serve_check import newest_version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A small real SavedModel (variables, assets, signature)."""
    path = str(tmp_path_factory.mktemp("model") / "Format-Serving")
    module = tf.Module()
    module.w = tf.Variable(tf.ones([3, 2]))
    module.f = tf.function(lambda x: {"y": tf.matmul(x, module.w)},
                           input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    tf.saved_model.save(module, path, signatures={"serving_default": module.f})
    os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
    with open(os.path.join(path, "assets.extra", "class_names.txt"), "w") as f:
        f.write("a\nb\n")
    return path


def _listing(directory):
    return sorted(os.listdir(directory)) if os.path.isdir(directory) else []


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


def test_push_is_complete_and_leaves_no_temporary_folder(model_dir, tmp_path):
    serving = str(tmp_path / "serving")
    version, path = atomic_push(model_dir, serving)
    assert _listing(serving) == [version] and version.isdigit()
    assert _files(path) == _files(model_dir)
    assert is_complete_saved_model(path)
    assert tf.saved_model.load(path).signatures["serving_default"](x=tf.ones([1, 3]))["y"].numpy().tolist() == [[3, 3]]
    # a second push gets a higher version even within the same second (TF Serving serves the highest)
    version2, _ = atomic_push(model_dir, serving)
    assert int(version2) > int(version)


def test_failure_in_the_middle_of_the_copy_leaves_no_version_then_next_push_cleans_up(
        model_dir, tmp_path, monkeypatch):
    serving = str(tmp_path / "serving")
    real_copy, copied = atomic_pusher._copy_file, []

    def copy_then_die(src, dst):
        if len(copied) == 2:
            raise OSError("simulated crash in the middle of the push")
        real_copy(src, dst)
        copied.append(dst)

    monkeypatch.setattr(atomic_pusher, "_copy_file", copy_then_die)
    with pytest.raises(OSError, match="simulated crash"):
        atomic_push(model_dir, serving, version=1000)
    assert len(copied) == 2 and len(_files(model_dir)) > 2
    assert _listing(serving) == [".tmp-1000"]  # what a crash leaves: only the hidden folder
    with pytest.raises(FileNotFoundError, match="no complete"):
        newest_version(serving)

    monkeypatch.setattr(atomic_pusher, "_copy_file", real_copy)
    version, path = atomic_push(model_dir, serving)
    assert _listing(serving) == [version]  # the stale .tmp-1000 was removed
    assert newest_version(serving) == path


def test_copy_that_does_not_match_the_source_is_refused(model_dir, tmp_path, monkeypatch):
    serving = str(tmp_path / "serving")
    real_copy = atomic_pusher._copy_file

    def truncating_copy(src, dst):
        real_copy(src, dst)
        if dst.endswith("variables.index"):
            with open(dst, "r+b") as f:
                f.truncate(3)

    monkeypatch.setattr(atomic_pusher, "_copy_file", truncating_copy)
    with pytest.raises(IncompletePushError, match="variables.index"):
        atomic_push(model_dir, serving)
    assert _listing(serving) == []


def test_sigkill_in_the_middle_of_the_push_leaves_no_version(model_dir, tmp_path):
    serving = str(tmp_path / "serving")
    script = textwrap.dedent(f"""
        import os, signal
        from deeprob_pipeline import atomic_pusher
        real, n = atomic_pusher._copy_file, []
        def copy(src, dst):
            if len(n) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
            real(src, dst); n.append(dst)
        atomic_pusher._copy_file = copy
        atomic_pusher.atomic_push({model_dir!r}, {serving!r})
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    listing = _listing(serving)
    assert len(listing) == 1 and listing[0].startswith(".tmp-")
    assert not [d for d in listing if d.isdigit()]
    version, _ = atomic_push(model_dir, serving)
    assert _listing(serving) == [version]


def _artifacts(model_dir, tmp_path, blessed):
    model = standard_artifacts.Model()
    model.uri = os.path.dirname(model_dir)  # the Trainer's model artifact holds Format-Serving/
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(tmp_path / "blessing")
    blessing.set_int_custom_property("blessed", int(blessed))
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / "pushed_model")
    return {"model": [model], "model_blessing": [blessing]}, {"pushed_model": [pushed]}


@pytest.mark.parametrize("blessed", [True, False])
def test_executor_pushes_a_blessed_model_only(model_dir, tmp_path, blessed):
    serving = str(tmp_path / "serving")
    inputs, outputs = _artifacts(model_dir, tmp_path, blessed)
    destination = json.dumps({"filesystem": {"base_directory": serving}})
    AtomicPusherExecutor().Do(inputs, outputs, {"push_destination": destination, "custom_config": "null"})
    pushed = outputs["pushed_model"][0]
    assert pushed.get_int_custom_property("pushed") == int(blessed)
    if blessed:
        version = pushed.get_string_custom_property("pushed_version")
        assert _listing(serving) == [version]
        assert pushed.get_string_custom_property("pushed_destination") == os.path.join(serving, version)
        assert is_complete_saved_model(os.path.join(serving, version))
    else:
        assert _listing(serving) == []


def test_serve_check_skips_hidden_and_partial_versions(model_dir, tmp_path):
    serving = tmp_path / "serving"
    _, good = atomic_push(model_dir, str(serving), version=100)
    partial = serving / "200"  # numeric but no variables: a stock Pusher killed mid-copy
    partial.mkdir()
    (partial / "saved_model.pb").write_bytes(open(os.path.join(model_dir, "saved_model.pb"), "rb").read())
    hidden = serving / ".tmp-300"
    hidden.mkdir()
    for name in os.listdir(good):
        os.symlink(os.path.join(good, name), hidden / name)
    assert not is_complete_saved_model(str(partial))
    assert newest_version(str(serving)) == good
    with pytest.raises(ValueError, match="incomplete"):
        newest_version(str(partial))
    with pytest.raises(ValueError, match="not a version folder"):
        newest_version(model_dir)


def test_serve_check_refuses_a_path_outside_the_configured_serving_dir(model_dir, tmp_path, capsys):
    serving = tmp_path / "serving"
    _, good = atomic_push(model_dir, str(serving))
    assert newest_version(good, serving_dir=str(serving)) == good
    with pytest.raises(ValueError, match="outside the configured serving directory"):
        newest_version(os.path.dirname(model_dir), serving_dir=str(serving))
    config = tmp_path / "pipeline.yaml"
    config.write_text(f"serving_dir: {serving}\n")
    assert serve_check_main([os.path.dirname(model_dir), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "outside the configured serving directory" in err and "Traceback" not in err
