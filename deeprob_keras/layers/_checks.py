"""Argument checks shared by the regularization layers (Keras-style messages)."""


def validate_rate(rate, name="rate"):
    """A drop probability in [0, 1), as a float."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected a float value in [0, 1). "
            f"Received: {name}={rate}")
    return float(rate)


def validate_seed(seed):
    """None or an int (not a bool)."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"Expected an int or None for argument `seed`. Received: seed={seed}")
    return seed
