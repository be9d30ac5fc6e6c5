"""`Verdict`: what one step of the hyperparameter procedure found."""

import dataclasses
import math


@dataclasses.dataclass
class Verdict:
    """The outcome of one diagnostic step.

    Args:
        step: the lecture's step number (1-7).
        name: short name of the check, e.g. "initial loss".
        passed: whether the check passed.
        measured: dict of measured values (JSON-friendly numbers, lists, strings).
        message: one sentence saying what was measured against what.
        likely_cause: when it failed, the usual causes and what to try; else "".
        plots: paths of PNGs that show the evidence.

    Example:
        >>> v = check_initial_loss(recipe)
        >>> print(v.line())
    """

    step: int
    name: str
    passed: bool
    measured: dict = dataclasses.field(default_factory=dict)
    message: str = ""
    likely_cause: str = ""
    plots: list = dataclasses.field(default_factory=list)

    def line(self):
        """One printable line: step, name, PASS/FAIL and the message."""
        status = "PASS" if self.passed else "FAIL"
        text = f"[step {self.step}] {self.name}: {status} - {self.message}"
        if not self.passed and self.likely_cause:
            text += f" Likely cause: {self.likely_cause}"
        return text


def is_finite(value):
    """True for a finite real number (NaN, +-Inf and None are not)."""
    return value is not None and math.isfinite(float(value))
