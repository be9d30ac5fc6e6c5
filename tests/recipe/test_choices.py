"""The recipe's named choices and the builders' registries are one list per kind (issue 15)."""

import dataclasses

import pytest

from deeprob_keras.augment.random_erasing import FILLS
from deeprob_keras.augment.test_time_augmentation import MODES
from deeprob_keras.layers.heads import HEADS
from deeprob_keras.layers.penalties import PENALTIES
from deeprob_keras.models.build import MODELS
from deeprob_keras.models.small_resnet import POOLINGS
from deeprob_keras.recipe import Recipe, RecipeError, recipe_from_dict, schema
from deeprob_keras.registry import Registry, unknown_choice_message
from deeprob_keras.schedules.build import SCHEDULES
from deeprob_keras.training.builders import OPTIMIZERS
from deeprob_keras.training.precision import dtype_policy

# schema field -> the names its builder knows.
BUILT = {
    ("ModelSpec", "name"): MODELS.names,
    ("ModelSpec", "head"): HEADS.names,
    ("ModelSpec", "pooling"): POOLINGS.names,
    ("OptimizerSpec", "name"): OPTIMIZERS.names,
    ("ScheduleSpec", "name"): SCHEDULES.names,
    ("RegularizationSpec", "penalty"): PENALTIES.names,
    ("AugmentationSpec", "tta"): ("none",) + tuple(MODES),   # "none": no TestTimeAugmentation wrapper
    ("AugmentationSpec", "erasing_fill"): tuple(FILLS),
}
# Named choices with no name -> object builder (checked elsewhere or read directly by their consumer).
NOT_BUILT = {("CallbacksSpec", "monitor"), ("TrainingSpec", "precision"), ("SearchParam", "kind"),
             ("SearchParam", "sampling"), ("TransferSpec", "mode")}


def _string_choice_fields():
    sections = [getattr(schema, n) for n in dir(schema)
                if dataclasses.is_dataclass(getattr(schema, n)) and isinstance(getattr(schema, n), type)]
    for cls in sections:
        for field in dataclasses.fields(cls):
            choices = field.metadata.get("choices")
            if choices and all(isinstance(c, str) for c in choices):
                yield (cls.__name__, field.name), tuple(choices)


def test_every_named_choice_is_accounted_for():
    """A new `choices=` field of strings must be added to BUILT (with its registry) or NOT_BUILT."""
    fields = dict(_string_choice_fields())
    assert set(fields) == set(BUILT) | NOT_BUILT


@pytest.mark.parametrize("key", sorted(BUILT))
def test_schema_choices_are_the_registry_names(key):
    fields = dict(_string_choice_fields())
    assert set(fields[key]) == set(BUILT[key]), f"{key}: schema {fields[key]} vs builder {BUILT[key]}"


def test_every_precision_resolves_to_a_dtype_policy():
    from deeprob_keras.training.precision import resolve_precision

    for name in dict(_string_choice_fields())[("TrainingSpec", "precision")]:
        with dtype_policy(resolve_precision(name)):
            pass


def test_registry_and_declaration_must_agree():
    builders = {"sgd": object(), "adam": object()}
    Registry("optimizer.name", builders, declared=("adam", "sgd"))   # order aside
    with pytest.raises(ValueError, match=r"no builder for \['lion'\], not declared by the recipe: \[\]"):
        Registry("optimizer.name", builders, declared=("sgd", "adam", "lion"))      # name without a builder
    with pytest.raises(ValueError, match=r"no builder for \[\], not declared by the recipe: \['adam'\]"):
        Registry("optimizer.name", builders, declared=("sgd",))                     # builder without a name


@pytest.mark.parametrize("registry,typo,hint", [
    (SCHEDULES, "cosin", "cosine"), (OPTIMIZERS, "adamm", "adam"), (MODELS, "small_resnt", "small_resnet"),
    (PENALTIES, "elasticnet", "elastic_net"), (HEADS, "drop_connect", "dropconnect"), (POOLINGS, "maxx", "max"),
])
def test_unknown_name_is_one_line_with_a_hint(registry, typo, hint):
    with pytest.raises(ValueError) as info:
        registry[typo]
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{registry.key}: ") and message.endswith(f"Did you mean {hint!r}?")
    assert message == unknown_choice_message(registry.key, typo, registry.names)


def test_recipe_validator_gives_the_registry_message():
    with pytest.raises(RecipeError) as info:
        recipe_from_dict({"schedule": {"name": "cosin"}})
    assert str(info.value) == unknown_choice_message("recipe.schedule.name", "cosin", SCHEDULES.names)
    assert "\n" not in str(info.value)


def test_registry_reads_like_a_mapping():
    assert list(SCHEDULES) == list(SCHEDULES.names) and len(SCHEDULES) == len(SCHEDULES.names)
    assert "cosine" in SCHEDULES and "cosin" not in SCHEDULES
    assert SCHEDULES.check("cosine") == "cosine"
    assert Recipe().schedule.name in SCHEDULES
