"""Smoke test of benchmarks/epoch_gap.py: the report from a made-up result, then both arms of a tiny
digits recipe end to end (each in its own process); no timing asserts."""

import json

import pytest

from tests.benchmarks.loading import load_benchmark


def _result():
    arm = {"epoch_seconds": [3.0, 2.0, 2.0], "gap_seconds": [1.5, 2.5], "fit_seconds": 9.0}
    fast = {"epoch_seconds": [2.0, 1.0, 1.0], "gap_seconds": [0.01, 0.03], "predict_seconds": [0.5, 0.4, 0.4],
            "fit_seconds": 5.0}
    return {"recipe": "r.yaml", "epochs": 3, "limit_examples": None, "arms": {"autotune": arm, "library": fast},
            "load_before": "0.1 0.2 0.3", "load_after": "1.0 1.0 1.0", "when": "now", "command": "cmd"}


def test_report_names_both_arms_with_their_gaps_and_medians():
    bench = load_benchmark("epoch_gap")
    text = "\n".join(bench.report_lines(_result()))
    assert "| autotune | 3.0, 2.0, 2.0 | - | 1.50, 2.50 | 9.0 |" in text  # an old record: no predicts
    assert "| library | 2.0, 1.0, 1.0 | 0.5, 0.4, 0.4 | 0.01, 0.03 | 5.0 |" in text
    assert "Median gap: 2.00 s with the autotuning model, 0.02 s without" in text
    assert "Command: `cmd`" in text


def test_fewer_than_two_epochs_is_refused(capsys):
    bench = load_benchmark("epoch_gap")
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--epochs", "1"])
    assert exit_info.value.code == 2 and "at least 2" in capsys.readouterr().err


@pytest.mark.slow
def test_both_arms_train_and_the_report_is_written(tmp_path):
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text("name: tiny\n"
                      "data: {dataset: digits}\n"
                      "model: {name: small_resnet, widths: [4, 8], blocks_per_stage: 1}\n"
                      "training: {epochs: 2, batch_size: 64}\n")
    bench = load_benchmark("epoch_gap")
    out = tmp_path / "gap.md"
    assert bench.main(["--recipe", str(recipe), "--epochs", "2", "--predict-each-epoch", "--out", str(out)]) == 0
    result = json.loads((tmp_path / "gap.json").read_text())
    assert result["predict_each_epoch"] is True
    for arm in ("autotune", "library"):
        record = result["arms"][arm]
        assert len(record["epoch_seconds"]) == len(record["predict_seconds"]) == 2
        assert len(record["gap_seconds"]) == 1
    assert "| autotune |" in out.read_text() and "| library |" in out.read_text()
