"""The hyperparameter procedure of the lecture, as a tool (`deeprob doctor`)."""

from deeprob_keras.doctor.initial_loss import check_initial_loss, expected_initial_loss, judge_initial_loss
from deeprob_keras.doctor.verdict import Verdict
