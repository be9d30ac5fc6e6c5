"""Smoke test of benchmarks/ablation.py: two arms, 256 examples of sklearn's digits (8x8), 1 epoch, tiny widths."""

import json

import pytest

from tests.benchmarks.loading import load_benchmark


def _load_ablation():
    return load_benchmark("ablation")


@pytest.mark.slow
def test_two_arms_write_table_plot_and_resume(tmp_path, capsys):
    ablation = _load_ablation()
    recipe = tmp_path / "digits.yaml"
    recipe.write_text("name: digits\ndata: {dataset: digits}\ntraining: {batch_size: 64}\n")
    argv = ["--arms", "baseline,label_smoothing", "--epochs", "1", "--limit-examples", "256", "--recipe", str(recipe),
            "--widths", "4", "8", "--out", str(tmp_path), "--work-dir", str(tmp_path / "runs")]
    ablation.main(argv)
    table = (tmp_path / "ablation.md").read_text()
    assert "| baseline (cosine, no technique) | 1 |" in table
    assert "+label smoothing 0.1" in table and "1.00x" in table
    assert (tmp_path / "ablation.png").stat().st_size > 0
    runs = json.loads((tmp_path / "ablation.json").read_text())["runs"]
    assert sorted(r["arm"] for r in runs) == ["baseline", "label_smoothing"]
    assert all(0.0 <= r["metrics"]["test_accuracy"] <= 1.0 for r in runs)
    capsys.readouterr()
    ablation.main(argv)  # a rerun with the same settings trains nothing
    assert capsys.readouterr().out.count("(from ablation.json)") == 2
