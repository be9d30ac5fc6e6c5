"""Smoke test of benchmarks/fused_batch_norm.py: a tiny digits recipe, a few steps; no timing asserts."""

import json

import pytest

from tests.benchmarks.loading import load_benchmark


def test_speedup_and_shares_come_from_the_three_variants():
    bench = load_benchmark("fused_batch_norm")
    seconds = {("r.yaml", "keras"): {"seconds_per_step": 0.2, "rounds": [0.2], "batch_size": 8},
               ("r.yaml", "fused"): {"seconds_per_step": 0.16, "rounds": [0.16], "batch_size": 8},
               ("r.yaml", "none"): {"seconds_per_step": 0.12, "rounds": [0.12], "batch_size": 8}}
    [row] = bench.summarize(seconds, ["r.yaml"])
    assert row["speedup"] == pytest.approx(1.25)
    assert row["keras_share"] == pytest.approx(0.4) and row["fused_share"] == pytest.approx(0.25)


def test_each_variant_builds_its_normalization_and_the_report_is_written(tmp_path, monkeypatch):
    import keras

    from deeprob_keras.layers import FusedBatchNormalization

    bench = load_benchmark("fused_batch_norm")
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text("name: tiny\ndata: {dataset: digits}\n"
                      "model: {name: small_resnet, widths: [4, 8], blocks_per_stage: 1}\n"
                      "training: {epochs: 1, batch_size: 32, progressive_resize_min: 4, progressive_resize_epochs: 1}\n")
    built = []
    real = bench.flops_efficiency.side_by_side_recipes

    def spy(recipes, steps, rounds):
        from deeprob_keras.recipe import load_recipe, with_overrides

        for (_, variant), (path, overrides) in recipes.items():
            spec = with_overrides(load_recipe(path), overrides)
            built.append((variant, spec.model.batch_norm, spec.model.fused_batch_norm,
                          spec.training.progressive_resize_min))
        return real(recipes, steps, rounds)

    monkeypatch.setattr(bench.flops_efficiency, "side_by_side_recipes", spy)
    out = tmp_path / "fbn.md"
    assert bench.main(["--recipes", str(recipe), "--steps", "2", "--rounds", "1", "--limit-examples", "256",
                       "--out", str(out)]) == 0
    assert sorted(built) == [("fused", True, True, None), ("keras", True, False, None), ("none", False, False, None)]
    data = json.loads((tmp_path / "fbn.json").read_text())
    [row] = data["rows"]
    assert row["keras_ms"] > 0 and row["fused_ms"] > 0 and row["none_ms"] > 0
    assert f"**{row['speedup']:.2f}x**" in out.read_text()
    assert isinstance(FusedBatchNormalization(), keras.layers.BatchNormalization)
