"""`deeprob` on bad inputs a user really types: exit status 2, one line on stderr that
names the problem, no traceback, and no --out left behind."""

import importlib.util
import os

import pytest

from deeprob_keras.cli import main

HAS_PIPELINE = importlib.util.find_spec("deeprob_pipeline") is not None and importlib.util.find_spec("tfx") is not None
GOOD = "training:\n  epochs: 1\ndata:\n  limit_examples: 64\n"


def _files(tmp):
    """The files the cases refer to, as {name: path}."""
    def write(name, content):
        path = tmp / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        return str(path)

    sm = tmp / "corrupt_serving" / "1"
    (sm / "variables").mkdir(parents=True)
    (sm / "saved_model.pb").write_bytes(b"\x08\x01 this is not a SavedModel \xff\xfe" * 10)
    (sm / "variables" / "variables.index").write_bytes(b"x")
    (sm / "variables" / "variables.data-00000-of-00001").write_bytes(b"y")
    (tmp / "a_dir.yaml").mkdir()
    return {
        "good": write("good.yaml", GOOD),
        "dir": str(tmp / "a_dir.yaml"),
        "missing": str(tmp / "missing.yaml"),
        "latin1": write("latin1.yaml", "name: caf\xe9\n".encode("latin-1")),
        "empty": write("empty.yaml", ""),
        "comments": write("comments.yaml", "# nothing here\n"),
        "nan": write("nan.yaml", "optimizer:\n  learning_rate: .nan\n"),
        "inf": write("inf.yaml", "regularization:\n  label_smoothing: .inf\n"),
        "twice": write("twice.yaml", "training:\n  epochs: 3\n  epochs: 30\n"),
        "badyaml": write("badyaml.yaml", "training: [1, 2\n"),
        "list": write("list.yaml", "- training\n- model\n"),
        "widths": write("widths.yaml", "model:\n  widths: []\n"),
        "tta": write("tta.yaml", "augmentation:\n  tta: ten_crop\n  tta_crop_size: 40\n"),
        "classes": write("classes.yaml", "data:\n  classes: [1, 11]\n"),
        "steps": write("steps.yaml", "schedule:\n  name: step\n  boundaries_epochs: [8, 4]\n"),
        "backbone": write("backbone.yaml", "model:\n  name: backbone\ntransfer:\n  backbone: Resnet50\n"),
        "afile": write("afile.txt", "I am a file\n"),
        "pipeline_list": write("pipeline_list.yaml", "- a\n- b\n"),
        "corrupt_sm": str(tmp / "corrupt_serving"),
        "new_out": str(tmp / "new_out"),
    }


# (argv with {name} placeholders, text the one line must contain)
CASES = [
    ("train {dir}", "is a directory"),
    ("train {missing}", "recipe file not found"),
    ("train {latin1}", "not UTF-8 text (byte 0xe9 at line 1"),
    ("train {empty} --out {new_out}", "the recipe file is empty"),
    ("train {comments} --out {new_out}", "the recipe file is empty"),
    ("train {nan} --out {new_out}", "optimizer.learning_rate: expected a finite number. Received: nan"),
    ("train {inf} --out {new_out}", "label_smoothing: expected a finite number. Received: inf"),
    ("train {twice} --out {new_out}", "key 'epochs' given twice (line 2 and line 3)"),
    ("train {badyaml} --out {new_out}", "not valid YAML"),
    ("train {list} --out {new_out}", "expected a mapping"),
    ("train {widths} --out {new_out}", "model.widths must list at least one stage width"),
    ("train {tta} --out {new_out}", "tta_crop_size must be <= the image side (28"),
    ("train {classes} --out {new_out}", "data.classes must be labels of 'fashion_mnist' (0..9)"),
    ("train {steps} --out {new_out}", "boundaries_epochs must be strictly increasing"),
    ("train {backbone} --out {new_out}", "'Resnet50' is neither a .keras path nor a keras.applications name"),
    ("train {good} --epochs 0 --out {new_out}", "training.epochs: expected a value in [1, inf]"),
    ("train {good} --out {afile}", "argument --out: expected a directory, but"),
    ("train {good} --out {afile}/sub", "is a file, so"),
    ("train {good} --epochs ten", "argument --epochs: invalid int value: 'ten'"),
    ("train", "the following arguments are required: recipe"),
    ("trian {good}", "invalid choice: 'trian'"),
    ("multi-worker-local {good} --workers 0 --out {new_out}", "--workers must be >= 1"),
    ("schedule plot {good} --out {corrupt_sm}", "argument --out: expected a file path, but"),
    ("lr-find {good} --steps 3 --out {new_out}", "argument --steps: expected an integer >= 10. Received: 3"),
    ("lr-find {good} --min-lr 1 --max-lr 0.1 --out {new_out}", "--min-lr must be below --max-lr"),
    ("lr-find {good} --max-lr -1 --out {new_out}", "argument --max-lr: expected a finite number > 0. Received: -1"),
    ("lr-find {nan} --out {new_out}", "expected a finite number"),
    ("tune {good} --trials 0 --out {new_out}", "argument --trials: expected an integer >= 1. Received: 0"),
    ("tune {good} --epochs -2 --out {new_out}", "argument --epochs: expected an integer >= 1. Received: -2"),
    ("doctor {good} --budget -5 --out {new_out}", "argument --budget: expected a finite number > 0. Received: -5"),
    ("doctor {good} --budget nan --out {new_out}", "argument --budget: expected a finite number > 0. Received: nan"),
    ("doctor {dir} --out {new_out}", "is a directory"),
    ("transfer advise --examples-per-class -5 --similarity similar",
     "argument --examples-per-class: expected an integer >= 1. Received: -5"),
    ("transfer train {twice} --out {new_out}", "given twice"),
    ("transfer probes {good} --epochs 0", "argument --epochs: expected an integer >= 1"),
]
PIPELINE_CASES = [
    ("serve-check {corrupt_sm}", "Cannot parse file"),
    ("pipeline run --config {pipeline_list}", "expected a mapping of pipeline config fields. Received: a YAML list"),
    ("pipeline run --config {latin1}", "not UTF-8 text"),
    ("pipeline compile --config {pipeline_list} --kubeflow {new_out}/p.json", "expected a mapping"),
]


def _run(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err


@pytest.mark.parametrize("template, expected", CASES + [
    pytest.param(*case, marks=pytest.mark.skipif(not HAS_PIPELINE, reason="needs the pipeline extra"))
    for case in PIPELINE_CASES])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, template, expected):
    files = _files(tmp_path)
    argv = [part.format(**files) for part in template.split()]
    code, err = _run(argv, capsys)
    lines = err.strip().splitlines()
    assert code == 2, (code, err)
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith("deeprob: "), err
    assert expected in lines[0], err
    assert not os.path.exists(files["new_out"]), "a refused command left its --out behind"
    assert os.path.isfile(files["afile"]) and open(files["afile"]).read() == "I am a file\n"


def test_unwritable_out_is_one_line(tmp_path, capsys, monkeypatch):
    # Root ignores permission bits: simulate the read-only disk through os.access, as the check uses it.
    real_access = os.access
    ro = str(tmp_path / "readonly")
    os.mkdir(ro)
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == ro else real_access(p, mode, **kw))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(GOOD)
    code, err = _run(["train", str(recipe), "--out", os.path.join(ro, "run")], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{ro} is not writable" in err
    assert not os.path.exists(os.path.join(ro, "run"))


def test_verbose_shows_the_traceback(tmp_path, capsys):
    path = tmp_path / "nan.yaml"
    path.write_text("optimizer:\n  learning_rate: .nan\n")
    code, err = _run(["train", str(path), "--verbose"], capsys)
    assert code == 2
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("deeprob: bad recipe:")


def test_environment_variable_turns_verbose_on(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DEEPROB_VERBOSE", "1")
    code, err = _run(["train", str(tmp_path / "missing.yaml")], capsys)
    assert code == 2 and "Traceback" in err


def test_internal_error_keeps_its_traceback(tmp_path, monkeypatch):
    import deeprob_keras.cli as cli

    def broken(path, overrides):
        raise KeyError("a bug of ours")

    monkeypatch.setattr(cli, "_load", broken)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(GOOD)
    with pytest.raises(KeyError, match="a bug of ours"):
        main(["train", str(recipe)])


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "--verbose" in capsys.readouterr().out


def test_console_script_prints_no_tensorflow_logs_before_a_recipe_error(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "nan.yaml"
    path.write_text("optimizer:\n  learning_rate: .nan\n")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "DEEPROB_VERBOSE")}
    deeprob = os.path.join(os.path.dirname(sys.executable), "deeprob")
    proc = subprocess.run([deeprob, "train", str(path)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"deeprob: bad recipe: nan.yaml.optimizer.learning_rate: expected a finite number. Received: nan"]
    assert proc.stdout == ""
