import glob
import json
import os

import pytest

from deeprob_keras.doctor.search import coarse_search, default_search_space, grid_space
from deeprob_keras.recipe import SearchParam, with_overrides


def test_default_space_is_log_lr_around_center_and_weight_decays(tiny_recipe):
    lr, wd = default_search_space(tiny_recipe, 0.01)
    assert (lr.name, lr.sampling) == ("optimizer.learning_rate", "log")
    assert lr.min == pytest.approx(0.01 / 10 ** 0.5) and lr.max == pytest.approx(0.01 * 10 ** 0.5)
    assert wd.name == "regularization.l2" and wd.values == [1e-4, 1e-5, 0.0]
    no_penalty = with_overrides(tiny_recipe, {"regularization.penalty": "none"})
    assert default_search_space(no_penalty, 0.01)[1].name == "optimizer.weight_decay"


def test_grid_space_log_spacing():
    (p,) = grid_space([SearchParam(name="optimizer.learning_rate", kind="float", min=1e-3, max=1e-1,
                                   sampling="log")], points=3)
    assert p.kind == "choice" and p.values == pytest.approx([1e-3, 1e-2, 1e-1])
    with pytest.raises(ValueError, match="grid_points"):
        grid_space([p], points=1)


def _trial_spaces(directory):
    files = sorted(glob.glob(os.path.join(directory, "trial_*", "trial.json")))
    return [json.load(open(f))["hyperparameters"]["space"] for f in files]


@pytest.mark.parametrize("search", ["grid", "random"])
def test_search_runs_through_keras_tuner(tiny_recipe, tmp_path, search, capsys):
    recipe = with_overrides(tiny_recipe, {"data.limit_examples": 200})
    v = coarse_search(recipe, str(tmp_path), center_lr=0.05, search=search, trials=2, epochs=1)
    assert v.passed and len(v.measured["table"]) == 2
    assert v.measured["tuner"] == {"grid": "keras_tuner.GridSearch", "random": "keras_tuner.RandomSearch"}[search]
    assert capsys.readouterr().out.count("  trial ") == 2
    spaces = _trial_spaces(v.measured["directory"])
    assert len(spaces) == 2
    lr_hp = next(h for h in spaces[0] if h["config"]["name"] == "optimizer.learning_rate")
    lrs = [r["values"]["optimizer.learning_rate"] for r in v.measured["table"]]
    if search == "random":
        assert lr_hp["class_name"] == "Float" and lr_hp["config"]["sampling"] == "log"
        assert all(0.05 / 10 ** 0.5 <= lr <= 0.05 * 10 ** 0.5 for lr in lrs)
    else:
        assert lr_hp["class_name"] == "Choice"
        assert lr_hp["config"]["values"] == pytest.approx([0.05 / 10 ** 0.5, 0.05, 0.05 * 10 ** 0.5], rel=1e-3)
        assert set(lrs) <= set(lr_hp["config"]["values"])
