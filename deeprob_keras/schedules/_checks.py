"""Argument checks shared by the schedules: the library's `deeprob_keras.validation` (one message format)."""

from deeprob_keras.validation import number_at_least, number_in_range, positive_int, positive_number  # noqa: F401
