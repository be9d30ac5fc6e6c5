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


def test_smoothing_against_the_hand_computed_average():
    # s_1 = 0.5 * 1 = 0.5 -> 0.5 / 0.5 = 1; s_2 = 0.25 + 1 = 1.25 -> 1.25 / 0.75; s_3 = 0.625 + 1.5 -> 2.125 / 0.875
    np.testing.assert_allclose(smooth_losses([1.0, 2.0, 3.0], beta=0.5), [1.0, 1.25 / 0.75, 2.125 / 0.875])
    np.testing.assert_allclose(smooth_losses([1.0, 2.0, 3.0], beta=0.0), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="beta=1.0"):
        smooth_losses([1.0], beta=1.0)


def _bowl(lrs, best_index):
    """A loss that falls, is lowest at `best_index`, then climbs (in log lr)."""
    x = np.log10(lrs)
    return 2.0 + 0.5 * (x - x[best_index]) ** 2


def test_smoothing_ignores_a_single_low_outlier():
    lrs = exponential_rates(1e-4, 1.0, 50)
    losses = _bowl(lrs, 30)
    losses[44] = 1.6   # one lucky batch far past the minimum (below the bowl's 2.0)
    _, raw_min = suggest_learning_rate(lrs, losses, beta=0.0)
    assert raw_min == pytest.approx(lrs[44])   # unsmoothed: fooled by the outlier
    lr, smooth_min = suggest_learning_rate(lrs, losses, beta=0.6)
    assert lrs[29] <= smooth_min <= lrs[33]   # smoothed: the bowl's minimum (a little lag)
    assert lr == pytest.approx(smooth_min / 10)


def test_warm_up_steps_and_diverged_tail_are_ignored():
    lrs = exponential_rates(1e-4, 1.0, 50)
    losses = _bowl(lrs, 20)
    losses[:1] = 0.0            # the first step is skipped (skip_fraction 0.05 of the 25 finite steps -> 1)
    losses[25:] = np.nan        # diverged: only the finite head counts
    _, lr_min = suggest_learning_rate(lrs, losses, beta=0.0, skip_fraction=0.05)
    assert lr_min == pytest.approx(lrs[20])
    _, lr_min = suggest_learning_rate(lrs, losses, beta=0.0, skip_fraction=0.0)
    assert lr_min == pytest.approx(lrs[0])   # without the skip the spurious start wins
    assert suggest_learning_rate(lrs, np.r_[[1.0, 1.0], [np.nan] * 48]) == (lrs[0], lrs[0])


def test_suggestion_is_clipped_to_the_range():
    lrs = exponential_rates(1e-3, 1.0, 20)
    lr, lr_min = suggest_learning_rate(lrs, _bowl(lrs, 3), beta=0.0, skip_fraction=0.0)
    assert lr_min == pytest.approx(lrs[3]) and lr == pytest.approx(lrs[0])   # lrs[3] / 10 < lrs[0]


def test_steepest_descent_point():
    lrs = exponential_rates(1e-4, 1.0, 41)   # log10 lr in steps of 0.1
    x = np.log10(lrs)
    # Falls slowly, then fastest around index 15 (x = -2.5), then flattens; lowest at the end.
    losses = 3.0 - np.tanh((x + 2.5) * 3.0) - 0.01 * np.arange(41)
    steep, lr_min = suggest_learning_rate(lrs, losses, rule="steepest", beta=0.0, skip_fraction=0.0)
    assert steep == pytest.approx(lrs[15])
    assert lr_min == pytest.approx(lrs[40])
