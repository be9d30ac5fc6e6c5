import numpy as np
import pytest

from deeprob_keras.doctor import diagnose, plot_curves

E = np.arange(1, 11)


def kinds(history, batch_losses=None):
    return diagnose(history, batch_losses).measured["kinds"]


def test_overfitting_from_accuracy_gap():
    h = {"loss": list(1 / E), "val_loss": list(0.5 + 0.0 * E), "accuracy": list(0.8 + 0.02 * E),
         "val_accuracy": [0.85] * 10}
    v = diagnose(h)
    assert v.measured["kinds"] == ["overfitting"] and not v.passed
    assert "regularization" in v.likely_cause


def test_overfitting_from_rising_validation_loss():
    h = {"loss": list(1 / E), "val_loss": list(0.3 + 0.05 * np.abs(E - 3)), "accuracy": [0.95] * 10,
         "val_accuracy": [0.93] * 10}
    assert kinds(h) == ["overfitting"]


def test_underfitting_no_gap_low_accuracy():
    h = {"loss": list(1.6 - 0.01 * E), "val_loss": list(1.6 - 0.01 * E), "accuracy": list(0.5 + 0.005 * E),
         "val_accuracy": list(0.5 + 0.005 * E)}
    v = diagnose(h)
    assert v.measured["kinds"] == ["underfitting"]
    assert "train longer" in v.likely_cause


def test_bad_initialization_flat_start_then_drop():
    steps = [2.3] * 400 + list(2.0 * np.exp(-np.arange(600) / 60) + 0.3)
    h = {"loss": [2.3, 2.3, 1.0, 0.4], "accuracy": [0.1, 0.1, 0.8, 0.95], "val_accuracy": [0.1, 0.1, 0.8, 0.94]}
    assert kinds(h, steps) == ["bad_initialization"]
    smooth_start = list(2.0 * np.exp(-np.arange(1000) / 60) + 0.3)
    assert "bad_initialization" not in kinds(h, smooth_start)


def test_decay_too_early_plateau_after_decay():
    h = {"loss": [2.0, 1.5, 1.1, 0.9, 0.898, 0.897, 0.896, 0.896, 0.895, 0.895],
         "learning_rate": [0.1] * 3 + [0.01] * 7, "accuracy": [0.95] * 10, "val_accuracy": [0.94] * 10}
    assert kinds(h) == ["decay_too_early"]
    late = dict(h, loss=[2.0, 1.5, 1.2, 1.0, 0.9, 0.85, 0.82, 0.6, 0.59, 0.59],
                learning_rate=[0.1] * 7 + [0.01] * 3)
    assert "decay_too_early" not in kinds(late)


@pytest.mark.parametrize("loss", [[2.3, 1.5, 1.2, 3.0, float("nan")], [2.3, 1.0, 0.8, 1.5, 2.4]])
def test_divergence(loss):
    v = diagnose({"loss": loss, "accuracy": [0.1] * 5})
    assert v.measured["kinds"] == ["diverging"]
    assert "learning rate too high" in v.likely_cause


def test_healthy_run_passes():
    h = {"loss": list(1 / E), "val_loss": list(1 / E + 0.01), "accuracy": list(0.9 + 0.005 * E),
         "val_accuracy": list(0.9 + 0.004 * E)}
    v = diagnose(h)
    assert v.passed and v.measured["kinds"] == ["healthy"]


def test_plot_with_moving_average(tmp_path):
    h = {"loss": list(1 / E), "val_loss": list(1 / E), "accuracy": list(0.9 + 0.005 * E),
         "val_accuracy": list(0.9 + 0.004 * E), "learning_rate": [0.1] * 10}
    path = plot_curves(h, str(tmp_path / "c.png"), batch_losses=list(np.linspace(2, 0.1, 200)))
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments():
    with pytest.raises(ValueError, match="loss"):
        diagnose({"accuracy": [0.5]})
    with pytest.raises(ValueError, match="gap_threshold"):
        diagnose({"loss": [1.0]}, gap_threshold=0)


def test_validation_loss_above_the_untrained_loss_is_not_called_overfitting():
    h = {"loss": [0.58, 0.39], "val_loss": [3.19, 4.08], "accuracy": [0.79, 0.86], "val_accuracy": [0.25, 0.32]}
    v = diagnose(h)
    assert v.measured["kinds"] == ["unstable_validation"]
    assert "lower the learning rate" in v.likely_cause
