"""Smoke test of benchmarks/tta_views.py on a tiny digits run; no timing asserts."""

import json

import numpy as np
import pytest

from tests.benchmarks.loading import load_benchmark


def test_chosen_set_is_the_best_on_validation_not_on_test():
    bench = load_benchmark("tta_views")
    labels = np.array([0, 1])
    right, wrong = np.array([[0.9, 0.1], [0.1, 0.9]]), np.array([[0.1, 0.9], [0.9, 0.1]])
    probs = {"val_y": labels, "test_y": labels}
    for flip in (0, 1):
        for dy, dx in bench.SHIFTS:
            # Views with flip are right on validation and wrong on test; the others the other way round.
            probs[bench.view_key("val", flip, dy, dx)] = right if flip else wrong
            probs[bench.view_key("test", flip, dy, dx)] = wrong if flip else right
    rows, chosen = bench.evaluate([probs])
    by_name = {r["set"]: r for r in rows}
    assert by_name["none"]["validation"] == [0.0] and by_name["none"]["test"] == [1.0]
    assert chosen != "none" and by_name[chosen]["validation_mean"] == max(r["validation_mean"] for r in rows)


@pytest.mark.slow
def test_flip_cross_set_matches_the_library_mode(tmp_path):
    import deeprob_keras
    from deeprob_keras.augment import TestTimeAugmentation
    from deeprob_keras.recipe import recipe_from_dict
    from deeprob_keras.training import train_recipe

    bench = load_benchmark("tta_views")
    tta_modes = load_benchmark("tta_modes")
    recipe = recipe_from_dict({"name": "tiny", "data": {"dataset": "digits", "limit_examples": 256},
                               "model": {"widths": [4, 8]}, "augmentation": {"flip": True, "tta": "flip"},
                               "training": {"epochs": 1, "batch_size": 64}})
    run = tmp_path / "run"
    train_recipe(recipe, str(run), verbose=0, export=False)
    model_path = str(run / "model.keras")
    out = tmp_path / "views.md"
    args = ["--models", model_path, "--limit", "40", "--cache-dir", str(tmp_path / "cache"), "--out", str(out)]
    assert bench.main(args) == 0
    data = json.loads((tmp_path / "views.json").read_text())
    assert data["chosen"] in bench.VIEW_SETS and f"{data['chosen']} **(chosen)**" in out.read_text()
    # The benchmark's flip_cross set is the library's TestTimeAugmentation(mode="flip_cross").
    base = tta_modes._base_network(deeprob_keras.load_model(model_path))
    val, _ = tta_modes.evaluation_arrays(tta_modes._recipe_of(model_path), 40)
    library = np.asarray(TestTimeAugmentation(base, "flip_cross", translate=1).predict(val[0], verbose=0))
    row = next(r for r in data["rows"] if r["set"] == "flip_cross (1 px)")
    assert row["validation"] == [float(np.mean(np.argmax(library, axis=1) == val[1]))]
    assert bench.main(args) == 0  # the second run reads the cache
    assert len(list((tmp_path / "cache").iterdir())) == 1
