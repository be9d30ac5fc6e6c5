"""The run plan: every number a training run derives from its recipe, computed once.

`RunPlan.from_recipe(recipe, num_train_examples, replicas)` is built once per
run and consumed by the `fit` path (`train_recipe`, `build_compiled_model`),
the multi-worker loop, the doctor and the TFX Trainer, so that a fact about a
run (its global batch, steps per epoch, peak learning rate, label form, warmup,
its phases) lives in one place.

Phases: a transfer recipe with `transfer.mode: two_phase` runs twice
(`training.two_phase.train_transfer`): feature extraction for
`transfer.feature_extraction_epochs` at the head's learning rate, then
fine-tuning for `training.epochs` at `lr_factor` x that rate. `plan_phases`
describes them (`PhasePlan`: epochs, peak learning rate, fitted warmup, what
trains, the recipe overrides of the phase's own run); any other recipe has
one phase, the run itself. Every phase shares the run's global batch and
steps per epoch (same data).

Warmup policy (the only one): the recipe's `schedule.warmup_epochs` is kept
when it fits the run, and capped at `MAX_WARMUP_FRACTION` of the run's epochs
otherwise:

    warmup = min(schedule.warmup_epochs, MAX_WARMUP_FRACTION * training.epochs)

so a recipe written for 25 epochs with a 1-epoch warmup still runs with
`--epochs 1` (a warmup of 0.25 epoch), and no shortened run (the CLI's
`--epochs`, the TFX pipeline's shorter runs) spends most of its steps warming
up. Searches that want a constant learning rate (the doctor) set
`warmup_epochs: 0` in their recipe, which the policy keeps.
"""

import dataclasses
import math
from typing import Optional

from deeprob_keras.recipe import with_overrides
from deeprob_keras.schedules.scaling import linear_scaling_rule
from deeprob_keras.transfer.fine_tuning import transfer_learning_rate

MAX_WARMUP_FRACTION = 0.25
# Progressive resizing: at least the last quarter of a run's epochs train at full size, however the run is
# shortened (the CLI's --epochs, the TFX pipeline's shorter runs).
MAX_RESIZE_RAMP_FRACTION = 0.75
LABEL_FORMS = ("sparse", "one_hot")
# What a phase trains: everything, the new head only (backbone frozen), or the head and the
# backbone above transfer.freeze_fraction / freeze_until.
TRAINABLE = {"train": "all", "feature_extraction": "head", "fine_tune": "head_and_top"}
TWO_PHASES = ("feature_extraction", "fine_tune")


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Expected an integer >= 1 for `{name}`. Received: {name}={value!r}")
    return value


def global_batch_size(recipe, replicas=1):
    """The batch summed over replicas: `training.batch_size * replicas`.

    Args:
        recipe: a `Recipe`.
        replicas: int >= 1, `strategy.num_replicas_in_sync`.

    Example:

    >>> global_batch_size(Recipe(), replicas=2)   # batch_size 128 per replica
    256
    """
    return recipe.training.batch_size * _positive_int("replicas", replicas)


def fitted_warmup_epochs(warmup_epochs, epochs):
    """The warmup a run of `epochs` epochs gets: `min(warmup_epochs, MAX_WARMUP_FRACTION * epochs)`.

    Args:
        warmup_epochs: float >= 0, the recipe's `schedule.warmup_epochs`.
        epochs: int >= 1, the run's `training.epochs`.

    Example:

    >>> fitted_warmup_epochs(1.0, 25), fitted_warmup_epochs(1.0, 1)
    (1.0, 0.25)
    """
    if isinstance(warmup_epochs, bool) or not isinstance(warmup_epochs, (int, float)) or warmup_epochs < 0:
        raise ValueError(f"Expected a number >= 0 for `warmup_epochs`. Received: warmup_epochs={warmup_epochs!r}")
    epochs = _positive_int("epochs", epochs)
    return float(min(warmup_epochs, MAX_WARMUP_FRACTION * epochs))


def fitted_resize_ramp(ramp_epochs, epochs):
    """The first epoch at full size a run of `epochs` epochs gets: `min(ramp_epochs, floor(0.75 * epochs))`.

    Example:

    >>> fitted_resize_ramp(14, 28), fitted_resize_ramp(14, 4)
    (14, 3)
    """
    return min(int(ramp_epochs), int(MAX_RESIZE_RAMP_FRACTION * _positive_int("epochs", epochs)))


def label_form(recipe):
    """'one_hot' when Mixup or CutMix mix the labels, else 'sparse'.

    Label smoothing does not need one-hot labels: `SmoothedCrossentropy`
    accepts sparse and soft targets alike.
    """
    aug = recipe.augmentation
    return "one_hot" if (aug.mixup_alpha > 0 or aug.cutmix_alpha > 0) else "sparse"


def peak_learning_rate(recipe, global_batch):
    """The peak learning rate: optimizer.learning_rate, times transfer.lr_factor when
    fine-tuning, scaled by `linear_scaling_rule` when `optimizer.base_batch_size` is set."""
    lr = transfer_learning_rate(recipe)
    if recipe.optimizer.base_batch_size is not None:
        lr = linear_scaling_rule(lr, global_batch, recipe.optimizer.base_batch_size)
    return float(lr)


@dataclasses.dataclass(frozen=True)
class PhasePlan:
    """One phase of a run: what `fit` is called with, and how the phase's own recipe differs.

    Attributes:
        name: 'train' (a recipe without transfer), or the transfer mode the phase
            runs ('feature_extraction' or 'fine_tune').
        epochs: the phase's epochs.
        learning_rate: the phase's peak learning rate (`peak_learning_rate` of its recipe).
        warmup_epochs: the recipe's warmup fitted to the phase (`fitted_warmup_epochs`).
        trainable: 'all', 'head' (backbone frozen) or 'head_and_top' (`TRAINABLE`).
        overrides: dotted recipe overrides that turn the run's recipe into the
            phase's (empty for a one-phase run).
    """

    name: str
    epochs: int
    learning_rate: float
    warmup_epochs: float
    trainable: str
    overrides: dict


def plan_phases(recipe, global_batch):
    """The phases of `recipe` at global batch `global_batch` (a tuple of `PhasePlan`).

    Example:

    >>> [(p.name, p.epochs, p.learning_rate) for p in plan_phases(two_phase_recipe, 128)]
    [('feature_extraction', 3, 0.01), ('fine_tune', 10, 0.001)]
    """
    spec = recipe.transfer
    warmup = recipe.schedule.warmup_epochs
    if recipe.model.name != "backbone" or spec is None or spec.mode != "two_phase":
        name = "train" if recipe.model.name != "backbone" or spec is None else spec.mode
        epochs = recipe.training.epochs
        return (PhasePlan(name, epochs, peak_learning_rate(recipe, global_batch),
                          fitted_warmup_epochs(warmup, epochs), TRAINABLE[name], {}),)
    phases = []
    for name, epochs in zip(TWO_PHASES, (spec.feature_extraction_epochs, recipe.training.epochs)):
        overrides = {"transfer.mode": name, "training.epochs": epochs}
        lr = peak_learning_rate(with_overrides(recipe, overrides), global_batch)
        phases.append(PhasePlan(name, epochs, lr, fitted_warmup_epochs(warmup, epochs), TRAINABLE[name], overrides))
    return tuple(phases)


def _progressive_resize(training, epochs):
    if training.progressive_resize_min is None:
        return None
    ramp = fitted_resize_ramp(training.progressive_resize_epochs, epochs)
    return (training.progressive_resize_min, ramp) if ramp > 0 else None


def validation_freq(validate_last_epochs, epochs):
    """`fit`'s `validation_freq` for validating only the last `validate_last_epochs` of `epochs` epochs.

    >>> validation_freq(None, 28), validation_freq(3, 28), validation_freq(5, 3)
    (1, [26, 27, 28], 1)
    """
    epochs = _positive_int("epochs", epochs)
    if validate_last_epochs is None or validate_last_epochs >= epochs:
        return 1
    return list(range(epochs - _positive_int("validate_last_epochs", validate_last_epochs) + 1, epochs + 1))


@dataclasses.dataclass(frozen=True)
class RunPlan:
    """What a training run derives from its recipe, computed once (see the module docstring).

    Attributes:
        replicas: replicas in sync (1 without a distribution strategy).
        global_batch_size: the batch summed over replicas.
        num_train_examples: training examples after the recipe's data filters.
        steps_per_epoch: `ceil(num_train_examples / global_batch_size)`.
        epochs: `training.epochs`.
        learning_rate: the peak learning rate (transfer `lr_factor` and the
            linear scaling rule applied).
        label_form: 'sparse' or 'one_hot' (Mixup / CutMix).
        warmup_epochs: the recipe's warmup fitted to the run (`fitted_warmup_epochs`).
        seed: the run's seed; ensemble member i uses `seed + i` (`member_seeds`).
        member_seeds: one seed per ensemble member.
        phases: the run's phases (`plan_phases`): one for most recipes, two
            (feature extraction, fine-tuning) for `transfer.mode: two_phase`.
        progressive_resize: `(min_size, ramp_epochs)` of progressive resizing
            (`ramp_epochs` fitted to the run: `fitted_resize_ramp`), or None.
        validation_freq: `fit`'s `validation_freq`: 1 (every epoch), or the
            1-based epochs that validate (`training.validate_last_epochs`: the
            last N, all of them in a run of N epochs or fewer).

    Example:

    >>> plan = RunPlan.from_recipe(recipe, num_train_examples=54_000, replicas=2)
    >>> plan.global_batch_size, plan.steps_per_epoch
    (256, 211)
    """

    replicas: int
    global_batch_size: int
    num_train_examples: int
    steps_per_epoch: int
    epochs: int
    learning_rate: float
    label_form: str
    warmup_epochs: float
    seed: int
    member_seeds: tuple
    phases: tuple
    progressive_resize: Optional[tuple] = None
    validation_freq: object = 1

    @classmethod
    def from_recipe(cls, recipe, num_train_examples, replicas=1, batch_size=None):
        """Builds the plan of `recipe` for `num_train_examples` examples on `replicas` replicas.

        Args:
            recipe: a validated `Recipe`.
            num_train_examples: int >= 1.
            replicas: int >= 1.
            batch_size: optional global batch the data was batched with, when a
                caller (a test, a benchmark) batches it otherwise than
                `training.batch_size * replicas`.
        """
        num_train_examples = _positive_int("num_train_examples", int(num_train_examples))
        global_batch = (global_batch_size(recipe, replicas) if batch_size is None
                        else _positive_int("batch_size", batch_size))
        epochs = recipe.training.epochs
        n = recipe.training.ensemble_members
        return cls(
            replicas=_positive_int("replicas", replicas),
            global_batch_size=global_batch,
            num_train_examples=num_train_examples,
            steps_per_epoch=math.ceil(num_train_examples / global_batch),
            epochs=epochs,
            learning_rate=peak_learning_rate(recipe, global_batch),
            label_form=label_form(recipe),
            warmup_epochs=fitted_warmup_epochs(recipe.schedule.warmup_epochs, epochs),
            seed=recipe.seed,
            member_seeds=tuple(recipe.seed + i for i in range(n)),
            phases=plan_phases(recipe, global_batch),
            progressive_resize=_progressive_resize(recipe.training, epochs),
            validation_freq=validation_freq(recipe.training.validate_last_epochs, epochs),
        )

    @property
    def one_hot(self):
        """True when the labels are one-hot (`label_form == 'one_hot'`)."""
        return self.label_form == "one_hot"

    @property
    def total_steps(self):
        """Optimizer steps of the run: `steps_per_epoch * epochs`."""
        return self.steps_per_epoch * self.epochs

    def schedule_spec(self, spec):
        """The recipe's `ScheduleSpec` with the warmup fitted to this run."""
        return dataclasses.replace(spec, warmup_epochs=self.warmup_epochs)
