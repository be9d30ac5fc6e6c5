"""The names a recipe may choose, by kind: where each list of choices comes from.

Techniques own their names: a technique's registry lives with its builder
(`deeprob_keras.registry.Registry`) and the schema's `choices` are read from
it here (schedules, weight penalties, classifier heads; the augmentation
layers' tuples of test-time modes and erasing fills).

The assembly's registries (models, poolings, optimizers) live in packages the
recipe must not import (`techniques-are-leaves` in pyproject.toml
[tool.importlinter]): their names are declared here, and each registry is
created with `declared=` one of these tuples, which fails at import when the
registry and the declaration differ. Names with no builder of their own
(precisions, search-space kinds and samplings) are declared here and imported
by the assembly code that reads them.
"""

from deeprob_keras.augment.random_erasing import FILLS
from deeprob_keras.augment.test_time_augmentation import MODES
from deeprob_keras.layers.heads import HEADS
from deeprob_keras.layers.penalties import PENALTIES
from deeprob_keras.schedules.build import SCHEDULES

# From the technique registries and tuples.
SCHEDULE_NAMES = SCHEDULES.names
PENALTY_NAMES = PENALTIES.names
HEAD_NAMES = HEADS.names
TTA_MODES = ("none",) + tuple(MODES)
ERASING_FILLS = tuple(FILLS)

# Declared for the assembly: models/build.py MODELS, models/small_resnet.py POOLINGS,
# training/builders.py OPTIMIZERS check themselves against these at import.
MODEL_NAMES = ("small_resnet", "mlp", "backbone")
POOLING_NAMES = ("stride", "max", "fractional_max")
OPTIMIZER_NAMES = ("sgd", "adam", "adamw", "rmsprop", "adagrad")

# Declared here, read by the assembly (training/precision.py, training/strategy.py, tuning/search_space.py).
PRECISIONS = ("float32", "mixed_bfloat16", "auto")
# The tf.distribute strategies by name: `deeprob train --strategy`, the pipeline's `trainer_strategy`
# (training/strategy.py builds them).
STRATEGIES = ("auto", "default", "mirrored")
SEARCH_KINDS = ("float", "int", "choice")
SEARCH_SAMPLINGS = ("linear", "log")
