"""deeprob-keras: the playbook of "Training Neural Networks II" as Keras 3 software.

Importing the package registers every serializable object of ours (layers,
losses, schedules, augmentation, ensembles, transfer) with Keras, so `.keras` files that
use them load with `load_model` (Keras's `safe_mode` stays on).
"""

import os
import sys
import warnings

# The `deeprob` command (console script, or `python -m deeprob_keras.cli`) imports this
# package, and with it TensorFlow, before `cli.main` runs: quiet TensorFlow's C++ logs
# (CUDA stubs, cuFFT/cuDNN registration) here, unless --verbose or DEEPROB_VERBOSE=1.
if (os.path.basename(sys.argv[0]) if sys.argv else "") in ("deeprob", "-m") and not (
        "--verbose" in sys.argv or os.environ.get("DEEPROB_VERBOSE", "").lower() in ("1", "true", "yes")):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# google-api-core (pulled in by TFX/keras-cv) warns about Python 3.10 on every import.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.api_core.*")

from deeprob_keras import augment, ensembles, layers, losses, schedules, transfer  # noqa: F401  (registration)

__version__ = "0.1.0"


def load_model(path, safe_mode=True):
    """Loads a `.keras` file with our objects registered; `safe_mode` on by default."""
    import keras

    return keras.saving.load_model(path, safe_mode=safe_mode)
