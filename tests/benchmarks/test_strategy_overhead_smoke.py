"""Smoke test of benchmarks/strategy_overhead.py: a tiny digits recipe, a few steps; no timing asserts."""

import json

import pytest

from tests.benchmarks.loading import load_benchmark


def _recipe(path):
    path.write_text("name: tiny\n"
                    "data: {dataset: digits}\n"
                    "model: {name: small_resnet, widths: [4, 8], blocks_per_stage: 1}\n"
                    "training: {epochs: 1, batch_size: 32}\n")
    return str(path)


def test_ratio_is_mirrored_over_default_per_round_and_at_the_median():
    bench = load_benchmark("strategy_overhead")
    costs = {("r.yaml", "default"): {"seconds_per_step": 0.1, "rounds": [0.1, 0.2], "batch_size": 8},
             ("r.yaml", "mirrored"): {"seconds_per_step": 0.15, "rounds": [0.15, 0.2], "batch_size": 8}}
    [row] = bench.summarize(costs, ["r.yaml"])
    assert row["ratio"] == pytest.approx(1.5)
    assert row["round_ratios"] == pytest.approx([1.5, 1.0])
    assert row["default_ms"] == pytest.approx(100.0) and row["batch_size"] == 8


def test_both_strategies_train_the_recipe_and_the_report_is_written(tmp_path, capsys, monkeypatch):
    import tensorflow as tf

    bench = load_benchmark("strategy_overhead")
    seen = []
    real = bench.flops_efficiency.side_by_side_recipes

    def spy(recipes, steps, rounds):
        seen.extend(type(entry[2]).__name__ if entry[2] is not None else None for entry in recipes.values())
        return real(recipes, steps, rounds)

    monkeypatch.setattr(bench.flops_efficiency, "side_by_side_recipes", spy)
    out = tmp_path / "overhead.md"
    assert bench.main(["--recipes", _recipe(tmp_path / "r.yaml"), "--steps", "2", "--rounds", "1",
                       "--out", str(out)]) == 0
    assert seen == [None, "MirroredStrategy"]
    data = json.loads((tmp_path / "overhead.json").read_text())
    [row] = data["rows"]
    assert row["default_ms"] > 0 and row["mirrored_ms"] > 0 and len(row["round_ratios"]) == 1
    assert data["replicas"] == tf.distribute.MirroredStrategy().num_replicas_in_sync
    assert "| **" in out.read_text() and "strategy_overhead.py" in out.read_text()
    capsys.readouterr()


@pytest.mark.parametrize("argv", [["--steps", "0"], ["--rounds", "0"], ["--recipes", "no_such.yaml"],
                                  ["--steps-per-execution", "1"]])
def test_bad_values_exit_2_with_a_usage_error(argv, capsys):
    bench = load_benchmark("strategy_overhead")
    with pytest.raises(SystemExit) as exc:
        bench.main(argv)
    assert exc.value.code == 2
    assert "error: " in capsys.readouterr().err.strip().splitlines()[-1]


def test_a_two_phase_transfer_recipe_is_timed_phase_by_phase(tmp_path):
    from deeprob_keras.recipe import Recipe, save_recipe, with_overrides

    bench = load_benchmark("strategy_overhead")
    transfer = with_overrides(Recipe(), {"model.name": "backbone", "training.epochs": 4, "transfer": {
        "backbone": "x.keras", "mode": "two_phase", "feature_extraction_epochs": 2}})
    path = save_recipe(transfer, str(tmp_path / "transfer.yaml"))
    plain = _recipe(tmp_path / "r.yaml")
    assert bench.phases(plain) == [(plain, {})]
    (extraction, head_only), (fine_tune, both) = bench.phases(path)
    assert extraction.endswith("(feature_extraction)") and fine_tune.endswith("(fine_tune)")
    assert (head_only["transfer.mode"], head_only["training.epochs"]) == ("feature_extraction", 2)
    assert (both["transfer.mode"], both["training.epochs"]) == ("fine_tune", 4)
    timed, labels = bench.entries([plain, path], mirrored="M")
    assert labels == [plain, extraction, fine_tune]
    assert timed[(fine_tune, "mirrored")] == (path, both, "M") and timed[(plain, "default")] == (plain, {}, None)


def test_steps_per_execution_adds_a_row_per_recipe_with_that_override(tmp_path):
    bench = load_benchmark("strategy_overhead")
    plain = _recipe(tmp_path / "r.yaml")
    timed, labels = bench.entries([plain], mirrored="M", steps_per_execution=8)
    assert labels == [plain, f"{plain}, 8 steps per call"]
    assert timed[(plain, "mirrored")] == (plain, {}, "M")
    assert timed[(labels[1], "default")] == (plain, {"training.steps_per_execution": 8}, None)
    assert timed[(labels[1], "mirrored")] == (plain, {"training.steps_per_execution": 8}, "M")
