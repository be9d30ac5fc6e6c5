import math

import pytest

from deeprob_keras.doctor import check_initial_loss, expected_initial_loss, judge_initial_loss
from deeprob_keras.recipe import with_overrides


def test_expected_is_log_c_and_uniform_prediction_gives_it_for_smoothed_targets():
    assert expected_initial_loss(10) == pytest.approx(math.log(10))
    eps, c = 0.1, 10
    target = [eps / c] * c
    target[3] += 1 - eps
    uniform_ce = -sum(q * math.log(1 / c) for q in target)
    assert uniform_ce == pytest.approx(expected_initial_loss(c))


def test_untrained_model_on_real_fashion_mnist_is_within_tolerance_of_log_10(tiny_recipe, tiny_data):
    smoothed = with_overrides(tiny_recipe, {"regularization.label_smoothing": 0.1})
    v = check_initial_loss(smoothed, datasets=tiny_data, num_batches=3)
    assert v.passed, v.line()
    assert v.measured["expected"] == pytest.approx(math.log(10))
    assert abs(v.measured["initial_loss"] - math.log(10)) <= 0.1 * math.log(10)
    assert "label smoothing" in v.message


def test_far_off_losses_fail_with_a_cause():
    high = judge_initial_loss(9.0, 10)
    assert not high.passed and "initialization" in high.likely_cause
    low = judge_initial_loss(0.5, 10)
    assert not low.passed and "label" in low.likely_cause
    assert not judge_initial_loss(float("nan"), 10).passed


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_classes"):
        expected_initial_loss(1)
    with pytest.raises(ValueError, match="tolerance"):
        judge_initial_loss(2.3, 10, tolerance=1.5)
