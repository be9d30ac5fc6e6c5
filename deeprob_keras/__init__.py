"""deeprob-keras: the playbook of "Training Neural Networks II" as Keras 3 software.

Importing the package registers every serializable object of ours (layers,
losses, schedules, augmentation, ensembles, transfer) with Keras, so `.keras` files that
use them load with `load_model` (Keras's `safe_mode` stays on).
"""

import warnings

from deeprob_keras import quiet as _quiet

# The `deeprob` command (console script, or `python -m deeprob_keras.cli`) imports this
# package, and with it TensorFlow, before `cli.main` runs: set its log levels here, before
# TensorFlow loads (deeprob_keras/quiet.py; --verbose or DEEPROB_VERBOSE=1 shows everything).
if _quiet.running_as_command():
    _quiet.quiet_logs()

# google-api-core (pulled in by TFX/keras-cv) warns about Python 3.10 on every import.
warnings.filterwarnings("ignore", category=FutureWarning, module=r"google\.api_core.*")

from deeprob_keras import augment, ensembles, layers, losses, schedules, transfer  # noqa: F401  (registration)

__version__ = "0.1.0"


def load_model(path, safe_mode=True):
    """Loads a `.keras` file with our objects registered; `safe_mode` on by default."""
    import keras

    return keras.saving.load_model(path, safe_mode=safe_mode)
