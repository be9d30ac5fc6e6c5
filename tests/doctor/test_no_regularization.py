"""The doctor's regularization-free recipe switches off every augmentation the schema knows."""

import dataclasses

from deeprob_keras.doctor._harness import without_regularization
from deeprob_keras.recipe import with_overrides
from deeprob_keras.recipe.schema import AugmentationSpec, Recipe


def test_every_augmentation_is_off_even_ones_added_after_the_doctor():
    on = {"augmentation.flip": True, "augmentation.translate": 2, "augmentation.random_erasing": 0.5,
          "augmentation.randaugment_ops": 2, "augmentation.mixup_alpha": 0.2, "augmentation.tta": "flip_translate",
          "regularization.label_smoothing": 0.1, "optimizer.use_ema": True, "model.head_dropout": 0.3}
    plain = without_regularization(with_overrides(Recipe(), on))
    assert dataclasses.asdict(plain.augmentation) == dataclasses.asdict(AugmentationSpec())
    assert plain.regularization.label_smoothing == 0.0
    assert not plain.optimizer.use_ema and plain.model.head_dropout == 0.0


def test_extra_overrides_use_double_underscores_for_dots():
    plain = without_regularization(Recipe(), optimizer__learning_rate=0.123)
    assert plain.optimizer.learning_rate == 0.123 and plain.schedule.name == "constant"
