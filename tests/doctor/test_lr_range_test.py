import numpy as np
import pytest

from deeprob_keras.doctor import exponential_rates, lr_range_test, smooth_losses, suggest_learning_rate, sweep_learning_rates


def test_exponential_rates_formula():
    r = exponential_rates(1e-4, 1.0, 5)
    np.testing.assert_allclose(r, [1e-4, 1e-3, 1e-2, 1e-1, 1.0], rtol=1e-9)


def test_smoothing_is_bias_corrected():
    np.testing.assert_allclose(smooth_losses([2.0] * 20, beta=0.9), [2.0] * 20)


def test_suggestion_rules_on_a_constructed_curve():
    lrs = exponential_rates(1e-5, 10.0, 120)
    x = np.log10(lrs)
    losses = 2.3 - 1.5 / (1 + np.exp(-(x + 2.5) * 4)) + np.where(x > -0.5, (x + 0.5) * 6, 0)
    lr, lr_min = suggest_learning_rate(lrs, losses, rule="min/10", beta=0.0)
    assert lr == pytest.approx(lr_min / 10)
    assert 10 ** -1.0 <= lr_min <= 10 ** -0.3
    steep, _ = suggest_learning_rate(lrs, losses, rule="steepest", beta=0.0)
    assert 10 ** -2.8 <= steep <= 10 ** -2.2
    with pytest.raises(ValueError, match="rule"):
        suggest_learning_rate(lrs, losses, rule="max")


def test_range_test_plots_and_suggests_inside_the_range(tiny_recipe, tiny_data, tmp_path):
    png = str(tmp_path / "range.png")
    v = lr_range_test(tiny_recipe, min_lr=1e-4, max_lr=5.0, steps=80, datasets=tiny_data, plot_path=png, verbose=False)
    assert open(png, "rb").read(4) == b"\x89PNG"
    assert 1e-4 <= v.measured["suggested_lr"] <= 5.0
    assert v.measured["lrs"][0] == pytest.approx(1e-4)
    assert len(v.measured["losses"]) == v.measured["steps_run"] <= 80


def test_sweep_picks_a_rate_that_drops_the_loss(tiny_recipe, tiny_data, tmp_path):
    v = sweep_learning_rates(tiny_recipe, rates=(1e-1, 1e-5), iterations=40, datasets=tiny_data,
                             plot_path=str(tmp_path / "sweep.png"), verbose=False)
    assert v.passed and v.measured["chosen_lr"] == 1e-1
    assert v.measured["rates"][1e-5]["label"] == "too slow"
    assert (tmp_path / "sweep.png").exists()
