"""Recipe inputs refused before anything trains: NaN/inf, keys given twice, empty or
unreadable files, and constraints between sections."""

import os

import pytest

from deeprob_keras.recipe import RecipeError, load_recipe, recipe_from_dict
from deeprob_keras.recipe.validation import from_dict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _float_fields():
    """Every float-typed field of every recipe section, as (section, key)."""
    import dataclasses
    import typing

    from deeprob_keras.recipe import schema

    found = []
    for section in ("data", "model", "optimizer", "schedule", "regularization", "augmentation",
                    "callbacks", "training"):
        cls = typing.get_type_hints(schema.Recipe)[section]
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            tp = hints[field.name]
            args = typing.get_args(tp)
            if typing.get_origin(tp) is list and args == (float,):
                found.append((section, field.name, True))
            elif tp is float or float in args:
                found.append((section, field.name, False))
    return found


FLOAT_FIELDS = _float_fields()


def test_every_float_field_is_covered():
    assert len(FLOAT_FIELDS) > 20  # guards the generator above


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), ".nan", "inf"])
@pytest.mark.parametrize("section, key, is_list", FLOAT_FIELDS)
def test_nan_and_inf_refused_for_every_float_field(section, key, is_list, value):
    given = [value] if is_list else value
    with pytest.raises(RecipeError, match=rf"recipe\.{section}\.{key}.*expected a finite number|"
                                          rf"recipe\.{section}\.{key}.*expected a number") as info:
        recipe_from_dict({section: {key: given}})
    assert "\n" not in str(info.value)


def test_nan_refused_in_transfer_section():
    data = {"model": {"name": "backbone"},
            "transfer": {"backbone": "x.keras", "lr_factor": float("nan")}}
    with pytest.raises(RecipeError, match=r"recipe\.transfer\.lr_factor: expected a finite number"):
        recipe_from_dict(data)


@pytest.mark.parametrize("text", ["optimizer:\n  learning_rate: .nan\n",
                                  "regularization:\n  label_smoothing: .NaN\n",
                                  "optimizer:\n  learning_rate: .inf\n",
                                  "optimizer:\n  learning_rate: -.inf\n"])
def test_yaml_nan_and_inf_refused(tmp_path, text):
    path = tmp_path / "r.yaml"
    path.write_text(text)
    with pytest.raises(RecipeError, match="expected a finite number"):
        load_recipe(str(path))


def test_duplicate_key_refused_with_key_and_lines(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("training:\n  epochs: 3\n  batch_size: 64\n  epochs: 30\n")
    with pytest.raises(RecipeError, match=r"key 'epochs' given twice \(line 2 and line 4\)") as info:
        load_recipe(str(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_duplicate_section_refused(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("training:\n  epochs: 3\nmodel:\n  widths: [8]\ntraining:\n  epochs: 4\n")
    with pytest.raises(RecipeError, match=r"key 'training' given twice \(line 1 and line 5\)"):
        load_recipe(str(path))


def test_same_key_in_two_sections_is_fine(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("optimizer:\n  name: adam\nschedule:\n  name: constant\n")
    recipe = load_recipe(str(path))
    assert recipe.optimizer.name == "adam" and recipe.schedule.name == "constant"


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_recipe_file_refused(tmp_path, text):
    path = tmp_path / "empty.yaml"
    path.write_text(text)
    with pytest.raises(RecipeError, match="the recipe file is empty"):
        load_recipe(str(path))


def test_explicit_empty_mapping_means_defaults(tmp_path):
    path = tmp_path / "defaults.yaml"
    path.write_text("{}\n")
    assert load_recipe(str(path)).training.epochs == 10


def test_directory_refused(tmp_path):
    with pytest.raises(RecipeError, match="is a directory"):
        load_recipe(str(tmp_path))


def test_non_utf8_refused(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(RecipeError, match=r"not UTF-8 text \(byte 0xe9 at line 1"):
        load_recipe(str(path))


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_unreadable_refused(tmp_path):
    path = tmp_path / "secret.yaml"
    path.write_text("{}\n")
    path.chmod(0)
    try:
        with pytest.raises(RecipeError, match="cannot read recipe file"):
            load_recipe(str(path))
    finally:
        path.chmod(0o600)


def test_missing_file_refused(tmp_path):
    with pytest.raises(RecipeError, match="recipe file not found"):
        load_recipe(str(tmp_path / "nope.yaml"))


@pytest.mark.parametrize("data, message", [
    ({"model": {"widths": []}}, r"model\.widths must list at least one stage width"),
    ({"model": {"name": "mlp", "widths": []}}, r"model\.widths must list at least one"),
    ({"schedule": {"name": "step", "boundaries_epochs": [5, 3]}, "training": {"epochs": 10}},
     r"schedule\.boundaries_epochs must be strictly increasing\. Received: \[5\.0, 3\.0\]"),
    ({"schedule": {"name": "step", "boundaries_epochs": [3, 3]}, "training": {"epochs": 10}},
     r"strictly increasing"),
    ({"schedule": {"name": "step", "boundaries_epochs": [1, 5], "warmup_epochs": 2}, "training": {"epochs": 10}},
     r"must all come after schedule\.warmup_epochs"),
    ({"augmentation": {"tta": "ten_crop", "tta_crop_size": 30}},
     r"tta_crop_size must be <= the image side \(28 for data\.dataset='fashion_mnist'"),
    ({"data": {"dataset": "digits"}, "augmentation": {"tta": "ten_crop", "tta_crop_size": 24}},
     r"tta_crop_size must be <= the image side \(8"),
    ({"data": {"dataset": "digits", "image_size": 28}, "augmentation": {"tta": "ten_crop", "tta_crop_size": 30}},
     r"tta_crop_size must be <= the image side \(28"),
    ({"data": {"classes": [3, 12]}}, r"data\.classes must be labels of 'fashion_mnist' \(0\.\.9\)\. Received: classes=\[3, 12\]"),
    ({"data": {"dataset": "digits", "classes": [0, 10]}}, r"data\.classes must be labels of 'digits'"),
    ({"model": {"zero_init_residual": True, "batch_norm": False}},
     r"model\.zero_init_residual needs model\.name: small_resnet with model\.batch_norm: true"),
    ({"model": {"name": "mlp", "zero_init_residual": True}}, r"model\.zero_init_residual needs"),
    ({"model": {"name": "backbone"}, "transfer": {"backbone": "MobilenetV3Small"}},
     r"transfer\.backbone: 'MobilenetV3Small' is neither a \.keras path nor a keras\.applications name\. "
     r"Did you mean 'MobileNetV3Small'\?"),
])
def test_cross_field_constraints_refused_before_training(data, message):
    with pytest.raises(RecipeError, match=message):
        recipe_from_dict(data)


@pytest.mark.parametrize("data", [
    {"schedule": {"name": "cosine", "boundaries_epochs": [5, 3]}},  # not used by cosine
    {"data": {"dataset": "digits", "image_size": 28}, "augmentation": {"tta": "ten_crop", "tta_crop_size": 24}},
    {"data": {"dataset": "cifar10", "classes": [0, 42]}},  # an unknown dataset's classes are checked at load
    {"model": {"name": "backbone"}, "transfer": {"backbone": "MobileNetV3Small"}},
    {"model": {"name": "backbone"}, "transfer": {"backbone": "runs/pretrain/model.keras"}},
    {"data": {"classes": [0, 9]}},
])
def test_valid_cross_field_combinations_pass(data):
    recipe_from_dict(data)


def test_every_shipped_recipe_still_loads():
    folder = os.path.join(ROOT, "recipes")
    for name in sorted(os.listdir(folder)):
        if name.endswith(".yaml"):
            load_recipe(os.path.join(folder, name))


def test_from_dict_on_a_section_refuses_nan():
    from deeprob_keras.recipe import OptimizerSpec

    with pytest.raises(RecipeError, match=r"opt\.momentum: expected a finite number"):
        from_dict(OptimizerSpec, {"momentum": float("nan")}, "opt")


def test_the_18_epoch_candidate_is_the_fast_recipe_but_for_its_epochs():
    # recipes/fashion_mnist_fast18.yaml is a copy (recipes have no inheritance): keep it from drifting.
    from deeprob_keras.recipe.validation import to_dict

    fast = to_dict(load_recipe(os.path.join(ROOT, "recipes", "fashion_mnist_fast.yaml")))
    fast18 = to_dict(load_recipe(os.path.join(ROOT, "recipes", "fashion_mnist_fast18.yaml")))
    assert (fast["training"]["epochs"], fast18["training"]["epochs"]) == (16, 18)
    for d in (fast, fast18):
        d.pop("name")
        d["training"].pop("epochs")
    assert fast18 == fast


@pytest.mark.parametrize("name, widths, epochs, members, first_stage_blocks, resize", [
    ("fashion_mnist_fast_4stage14.yaml", [16, 48, 96, 192], 14, 1, None, None),
    ("fashion_mnist_fast_4stage26.yaml", [16, 48, 96, 192], 26, 1, None, None),
    ("fashion_mnist_fast_4stage13x2.yaml", [16, 48, 96, 192], 13, 2, None, None),
    ("fashion_mnist_fast_4stage_wide10.yaml", [16, 64, 128, 256], 10, 1, None, None),
    ("fashion_mnist_fast_4stage_wide12.yaml", [16, 64, 128, 256], 12, 1, None, None),
    ("fashion_mnist_fast_4stage_wide14.yaml", [16, 64, 128, 256], 14, 1, None, None),
    ("fashion_mnist_fast_4stage_wide22.yaml", [16, 64, 128, 256], 22, 1, None, None),
    ("fashion_mnist_fast_4stage_wide24.yaml", [16, 64, 128, 256], 24, 1, None, None),
    ("fashion_mnist_fast_4stage_wide28.yaml", [16, 64, 128, 256], 28, 1, None, None),
    ("fashion_mnist_fast_4stage_wide_stem12.yaml", [16, 64, 128, 256], 12, 1, 0, None),
    ("fashion_mnist_fast_4stage_wide_stem25.yaml", [16, 64, 128, 256], 25, 1, 0, None),
    ("fashion_mnist_fast_4stage_wide_pr26.yaml", [16, 64, 128, 256], 26, 1, None, (16, 14)),
    ("fashion_mnist_fast_4stage_wide_pr28.yaml", [16, 64, 128, 256], 28, 1, None, (16, 12)),
])
def test_the_4stage_candidates_differ_from_make_trains_recipe_only_where_they_say(name, widths, epochs, members,
                                                                                  first_stage_blocks, resize):
    # The time-to-accuracy candidates are copies of fashion_mnist_fast_4stage15.yaml (recipes have no
    # inheritance): each may change only its width, first stage's depth, epochs and ensemble size, or the
    # comparison is not the one its comment describes.
    from deeprob_keras.recipe.validation import to_dict

    base = to_dict(load_recipe(os.path.join(ROOT, "recipes", "fashion_mnist_fast_4stage15.yaml")))
    other = to_dict(load_recipe(os.path.join(ROOT, "recipes", name)))
    assert other["name"] == name[:-len(".yaml")]
    assert (other["model"]["widths"], other["training"]["epochs"]) == (widths, epochs)
    assert other["training"]["ensemble_members"] == members
    assert other["model"]["first_stage_blocks"] == first_stage_blocks
    assert (other["training"]["progressive_resize_min"], other["training"]["progressive_resize_epochs"]) == (
        resize or (None, 0))
    for d in (base, other):
        d["training"].pop("progressive_resize_min")
        d["training"].pop("progressive_resize_epochs")
        d.pop("name")
        d["model"].pop("widths")
        d["model"].pop("first_stage_blocks")
        d["training"].pop("epochs")
        d["training"].pop("ensemble_members")
    assert other == base
