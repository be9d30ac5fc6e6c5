"""Smoke test of benchmarks/flops_efficiency.py on a tiny recipe (no timing asserts)."""

import json

import pytest

from tests.benchmarks.loading import load_benchmark


@pytest.mark.slow
def test_tiny_recipe_writes_table_with_flops_and_peak(tmp_path):
    bench = load_benchmark("flops_efficiency")
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text("name: tiny\ndata: {limit_examples: 256}\n"
                      "model: {widths: [4, 8]}\naugmentation: {flip: true, translate: 1}\n"
                      "training: {epochs: 1, batch_size: 32}\n")
    out = tmp_path / "eff.md"
    bench.main(["--recipes", str(recipe), "--steps", "2", "--peak-seconds", "0.05", "--out", str(out)])
    data = json.loads((tmp_path / "eff.json").read_text())
    assert data["peak_gflops"]["matmul_2048"] > 0 and data["peak_gflops"]["conv3x3_56x56x128"] > 0
    (r,) = data["recipes"]
    assert set(r["images_per_second"]) == {"pipeline", "in_memory", "compiled_loop", "pipeline_bfloat16"}
    assert r["train_flops_per_example"] > 0
    for key, rate in r["images_per_second"].items():
        assert r["gflops"][key] == pytest.approx(rate * r["train_flops_per_example"] / 1e9)
    assert "| tiny |" in out.read_text()
    assert set(data["translation_images_per_second"]) == {"keras_random_translation", "pixel_translation"}
