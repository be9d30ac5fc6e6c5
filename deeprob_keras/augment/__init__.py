"""Augmentation: batch-level Mixup / CutMix, erasing, scale augmentation, PCA
lighting, RandAugment, test-time augmentation, and `build_augmentation`."""

from deeprob_keras.augment.cutmix import CutMix, cutmix
from deeprob_keras.augment.mixup import MixUp, mixup

__all__ = ["CutMix", "MixUp", "cutmix", "mixup"]
