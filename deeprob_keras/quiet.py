"""The `deeprob` command's log levels, set in one place before TensorFlow loads.

A user of the command should see progress, results and real warnings, not the
logs that every TensorFlow/TFX process prints on a CPU machine. `quiet_logs()`:

- sets `TF_CPP_MIN_LOG_LEVEL=3` (unless already set) before TensorFlow is
  imported: TensorFlow's C++ logs (CUDA stubs, cuFFT/cuDNN/cuBLAS registration,
  oneDNN, TF-TRT, "Local rendezvous is aborting ... End of sequence") cannot be
  filtered from Python. Processes the command starts (Beam workers, local
  multi-workers) inherit the variable;
- ignores the FutureWarnings of Google's client libraries (google-api-core's
  "non-supported Python version", google-cloud-aiplatform's google-cloud-storage
  notice), which TFX pulls in;
- drops the known-harmless records of absl's and TensorFlow's Python loggers
  (`HARMLESS_MESSAGES`), e.g. TFX's "ArtifactQuery.property_predicate is not
  supported" at every input resolution, TFMA's use of a deprecated TensorFlow
  API); every other warning still shows.

`--verbose` anywhere among the arguments, or `DEEPROB_VERBOSE=1`, turns all of
this off and shows absl's INFO logs too. The library, imported from a user's
own program, changes nothing: only the command calls this.

This module imports no TensorFlow (absl only, pure Python).
"""

import logging
import os
import sys
import warnings

VERBOSE_ENV = "DEEPROB_VERBOSE"
# Records of absl's and TensorFlow's Python loggers that say nothing a user can act on.
HARMLESS_MESSAGES = (
    "ArtifactQuery.property_predicate is not supported",  # TFX input resolution, once per resolved channel
    "ContextQuery.property_predicate is not supported",
    "Local rendezvous is aborting",  # the end of a tf.data iterator (C++; here in case it reaches Python)
    "End of sequence",
    # TFMA's Evaluator reads its own output with a deprecated TensorFlow API (8 lines, twice a run)
    "tf_record_iterator (from tensorflow.python.lib.io.tf_record) is deprecated",
)
# (category, module regex) of warnings that say nothing a user can act on.
HARMLESS_WARNINGS = (
    (FutureWarning, r"google\..*"),  # google-api-core: Python 3.10 support; aiplatform: google-cloud-storage < 3
)


def verbose_requested(argv=None):
    """True when `--verbose` is among the arguments or `DEEPROB_VERBOSE` is set to a true value."""
    argv = sys.argv[1:] if argv is None else argv
    return "--verbose" in argv or os.environ.get(VERBOSE_ENV, "").lower() in ("1", "true", "yes")


def running_as_command(argv0=None):
    """True in the `deeprob` console script and in `python -m deeprob_keras.cli` (argv[0] is "-m" while
    the package is imported)."""
    argv0 = (sys.argv[0] if sys.argv else "") if argv0 is None else argv0
    return os.path.basename(argv0) in ("deeprob", "-m")


class HarmlessFilter(logging.Filter):
    """Drops log records whose message contains one of `messages`."""

    def __init__(self, messages=HARMLESS_MESSAGES):
        super().__init__("deeprob.quiet")
        self.messages = tuple(messages)

    def filter(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is not ours to drop
            return True
        return not any(m in message for m in self.messages)


_FILTER = HarmlessFilter()


def quiet_logs(verbose=None):
    """Sets the command's log levels (see the module docstring); `verbose` (default: `verbose_requested()`)
    shows everything instead. Call it before TensorFlow is imported; calling it again changes nothing."""
    verbose = verbose_requested() if verbose is None else verbose
    from absl import logging as absl_logging  # pure Python; creates absl's own logger class

    absl = absl_logging.get_absl_logger()
    tensorflow = logging.getLogger("tensorflow")  # the logger tf.get_logger() returns
    if verbose:
        absl_logging.set_verbosity(absl_logging.INFO)
        for logger in (absl, tensorflow):
            logger.removeFilter(_FILTER)
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for category, module in HARMLESS_WARNINGS:
        warnings.filterwarnings("ignore", category=category, module=module)
    for logger in (absl, tensorflow):
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
