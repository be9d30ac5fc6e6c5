"""Smoke test of benchmarks/tta_modes.py on a tiny digits run; no timing asserts."""

import json

import pytest

from tests.benchmarks.loading import load_benchmark


def test_mode_arguments_scale_with_the_image_side():
    bench = load_benchmark("tta_modes")
    assert bench.mode_args("ten_crop", 28) == {"mode": "ten_crop", "crop_size": 24}
    assert bench.mode_args("scales", 28)["scales"] == [24, 32]
    multi = bench.mode_args("multi_scale_crops", 28)
    assert multi["scales"] == [28, 30, 32, 34, 36] and bench.views_of(multi) == 50
    assert bench.mode_args("none", 28) is None and bench.views_of(None) == 1
    assert all(s >= 8 for s in bench.mode_args("multi_scale_crops", 8)["scales"])  # never below the input


@pytest.mark.slow
def test_every_mode_on_a_tiny_trained_model(tmp_path):
    from deeprob_keras.recipe import recipe_from_dict
    from deeprob_keras.training import train_recipe

    bench = load_benchmark("tta_modes")
    recipe = recipe_from_dict({"name": "tiny", "data": {"dataset": "digits", "limit_examples": 256},
                               "model": {"widths": [4, 8]}, "augmentation": {"flip": True, "tta": "flip"},
                               "training": {"epochs": 1, "batch_size": 64}})
    run = tmp_path / "run"
    train_recipe(recipe, str(run), verbose=0, export=False)
    out = tmp_path / "tta.md"
    assert bench.main(["--models", str(run / "model.keras"), "--limit", "60", "--out", str(out)]) == 0
    data = json.loads((tmp_path / "tta.json").read_text())
    modes = data["models"][0]["modes"]
    assert [m["mode"] for m in modes] == list(bench.MODES)
    assert all(0.0 <= m["test_accuracy"] <= 1.0 and 0.0 <= m["validation_accuracy"] <= 1.0 for m in modes)
    assert data["models"][0]["trained_with"]["flip"] is True
    views = bench.views_of(bench.mode_args("multi_scale_crops", 8))  # digits are 8x8: scales 8, 9, 10
    assert views == 30 and f"| multi_scale_crops | {views} |" in out.read_text()


def test_a_model_outside_a_run_directory_is_refused(tmp_path, capsys):
    bench = load_benchmark("tta_modes")
    lonely = tmp_path / "m.keras"
    lonely.write_bytes(b"")
    with pytest.raises(SystemExit):
        bench.main(["--models", str(lonely)])
    assert "no recipe.yaml beside" in capsys.readouterr().err
