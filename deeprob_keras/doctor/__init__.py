"""The hyperparameter procedure of the lecture, as a tool (`deeprob doctor`).

One module per step, each with a plain function returning a `Verdict`:
`check_initial_loss` (1), `overfit_small_sample` (2), `sweep_learning_rates`
and `lr_range_test` (3), `coarse_search` (4), `refine` (5), `diagnose` (6);
`run_doctor` runs them all within a budget and loops 5-6 (7).
"""

from deeprob_keras.doctor.curve_diagnosis import Finding, diagnose, plot_curves
from deeprob_keras.doctor.initial_loss import check_initial_loss, expected_initial_loss, judge_initial_loss
from deeprob_keras.doctor.learning_rate_verdict import classify_learning_rate
from deeprob_keras.doctor.lr_range_test import exponential_rates, lr_range_test, smooth_losses, suggest_learning_rate
from deeprob_keras.doctor.lr_sweep import sweep_learning_rates
from deeprob_keras.doctor.overfit_small_sample import overfit_small_sample
from deeprob_keras.doctor.verdict import Verdict


def __getattr__(name):
    # The KerasTuner-based and training-based parts load on first use.
    lazy = {"coarse_search": "search", "default_search_space": "search", "grid_space": "search",
            "refine": "refine", "run_doctor": "doctor", "write_report": "report"}
    if name in lazy:
        import importlib

        return getattr(importlib.import_module(f"deeprob_keras.doctor.{lazy[name]}"), name)
    raise AttributeError(f"module 'deeprob_keras.doctor' has no attribute {name!r}")
