import pytest

from deeprob_keras.doctor import classify_learning_rate, overfit_small_sample


def test_reaches_100_percent_on_five_batches(tiny_recipe, tiny_data):
    v = overfit_small_sample(tiny_recipe, num_batches=5, max_steps=600, datasets=tiny_data, verbose=False)
    assert v.passed, v.line()
    assert v.measured["final_accuracy"] == 1.0
    assert v.measured["examples"] == 5 * 32
    assert v.measured["last_pass_loss"] < v.measured["first_pass_loss"]


def test_learning_rate_10_is_too_high(tiny_recipe, tiny_data):
    v = overfit_small_sample(tiny_recipe, learning_rate=10.0, max_steps=100, datasets=tiny_data, verbose=False)
    assert not v.passed
    assert v.measured["lr_verdict"] == "too high"
    assert "learning rate too high" in v.likely_cause


def test_learning_rate_1e_7_is_too_low(tiny_recipe, tiny_data):
    v = overfit_small_sample(tiny_recipe, learning_rate=1e-7, max_steps=50, datasets=tiny_data, verbose=False)
    assert not v.passed
    assert v.measured["lr_verdict"] == "too low"
    assert "learning rate too low" in v.likely_cause


def test_classify_learning_rate_rules():
    assert classify_learning_rate([2.3, 2.3, float("nan")])[0] == "too high"
    assert classify_learning_rate([2.3] * 5 + [5.0] * 5)[0] == "too high"
    assert classify_learning_rate([2.3, 60.0, 9.0, 4.0, 3.0, 2.2])[0] == "too high"
    assert classify_learning_rate([2.3] * 10)[0] == "too low"
    label, drop = classify_learning_rate([2.3] * 5 + [1.0] * 5)
    assert label == "ok" and drop == pytest.approx(1 - 1.0 / 2.3)
    with pytest.raises(ValueError, match="min_drop"):
        classify_learning_rate([1, 2], min_drop=2)
