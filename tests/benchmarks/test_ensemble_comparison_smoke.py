"""Smoke test of benchmarks/ensemble_comparison.py: a tiny recipe on sklearn's digits (8x8), 2 epochs,
2 members, M=2 snapshots, one seed; no timing asserts."""

import json

import pytest

from tests.benchmarks.loading import load_benchmark


@pytest.mark.slow
@pytest.mark.long  # over a minute: `make test-long`
def test_every_arm_table_plateau_plot_and_resume(tmp_path, capsys):
    bench = load_benchmark("ensemble_comparison")
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text("name: tiny\ndata: {dataset: digits}\nmodel: {widths: [4, 8]}\nschedule: {warmup_epochs: 0}\n"
                      "training: {epochs: 1, batch_size: 64}\n")
    out = tmp_path / "ens.md"
    argv = ["--recipe", str(recipe), "--epochs", "2", "--members", "2", "--snapshots", "2", "--seeds", "0",
            "--out", str(out), "--work-dir", str(tmp_path / "runs")]
    assert bench.main(argv) == 0
    runs = json.loads((tmp_path / "ens.json").read_text())["runs"]
    assert [r["arm"] for r in runs] == ["single", "ema", "snapshots M=2", "2 independent"]
    by_arm = {r["arm"]: r for r in runs}
    assert by_arm["snapshots M=2"]["snapshots"] == 2
    assert len(by_arm["2 independent"]["member_test_accuracy"]) == 2
    assert by_arm["2 independent"]["model_epochs"] == 4 and by_arm["single"]["model_epochs"] == 2
    assert len(by_arm["single"]["val_accuracy"]) == 2  # the plateau evidence: one value per epoch
    table = out.read_text()
    assert "| 2 independent | 1 |" in table and "Plateau of the single model" in table
    assert (tmp_path / "ens.png").stat().st_size > 0
    capsys.readouterr()
    bench.main(argv)
    assert capsys.readouterr().out.count("(from ens.json)") == 4


def test_gain_verdict_and_cost():
    summarize = load_benchmark("ensemble_comparison").summarize

    def run(arm, acc, wall, members=None):
        return {"arm": arm, "test_accuracy": acc, "member_test_accuracy": members or [acc], "model_epochs": 10,
                "wall_seconds": wall}

    s = summarize([run("single", 0.90, 100), run("single", 0.902, 100),
                   run("3 independent", 0.92, 300, [0.9, 0.9, 0.9]), run("3 independent", 0.922, 300, [0.9] * 3),
                   run("ema", 0.899, 110), run("ema", 0.905, 110)])
    assert s["3 independent"]["gain"] == pytest.approx(0.02) and s["3 independent"]["verdict"] == "better"
    assert s["3 independent"]["cost"] == pytest.approx(3.0) and s["3 independent"]["members_mean"] == pytest.approx(0.9)
    assert s["ema"]["verdict"] == "no difference"


def test_bad_snapshot_count_is_refused(tmp_path, capsys):
    bench = load_benchmark("ensemble_comparison")
    with pytest.raises(SystemExit):
        bench.main(["--epochs", "4", "--snapshots", "5", "--out", str(tmp_path / "x.md")])
    assert "2 <= each --snapshots <= --epochs" in capsys.readouterr().err
