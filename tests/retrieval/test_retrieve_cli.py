"""`deeprob retrieve`: the figure and precision@K on sklearn digits (8x8, bundled), and one-line errors (exit 2)."""

import json
import os

import pytest

from deeprob_keras.cli import main
from tests.retrieval.helpers import tiny_model


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.keras"
    tiny_model().save(path)
    return str(path)


def test_writes_figure_and_precision(model_path, tmp_path, capsys):
    out = tmp_path / "ret"
    assert main(["retrieve", model_path, "--layer", "stage1", "--queries", "12", "--k", "3", "--out", str(out),
                 "--dataset", "digits", "--rows", "4"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("precision@3: ") and "layer stage1 (6-d, avg)" in printed[0]
    result = json.loads((out / "precision.json").read_text())
    assert result["queries"] == 12 and result["k"] == 3 and result["layer"] == "stage1"
    assert 0.0 <= result["precision_at_3"] <= 1.0 and f"{result['precision_at_3']:.4f}" in printed[0]
    assert len(set(result["query_indices"])) == 12
    assert (out / "retrieval.png").stat().st_size > 1000


@pytest.mark.parametrize("argv, expected", [
    (["--layer", "stage_1"], "Did you mean 'stage1'"),
    (["--layer", "conv9"], "Available layers: images, stem_conv, stage0"),
    (["--k", "0"], "expected an integer >= 1. Received: 0"),
    (["--queries", "-3"], "expected an integer >= 1"),
    (["--k", "100000"], "larger than the gallery"),
])
def test_bad_inputs_one_line_exit_2(model_path, tmp_path, capsys, argv, expected):
    code = main(["retrieve", model_path, "--out", str(tmp_path / "o"), "--dataset", "digits"] + argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("deeprob: ") and expected in err[0], err
    assert not os.path.exists(tmp_path / "o" / "retrieval.png")


def test_missing_model(tmp_path, capsys):
    assert main(["retrieve", str(tmp_path / "nope.keras"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "model file not found" in err[0] and "nope.keras" in err[0]
