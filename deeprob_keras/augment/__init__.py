"""Augmentation: batch-level Mixup / CutMix, erasing, scale augmentation, PCA
lighting, RandAugment, test-time augmentation, and `build_augmentation`."""

from deeprob_keras.augment.batched_rand_augment import BatchedRandAugment
from deeprob_keras.augment.build import build_augmentation
from deeprob_keras.augment.cutmix import CutMix, cutmix
from deeprob_keras.augment.mixup import MixUp, mixup
from deeprob_keras.augment.pca_lighting import PCALighting, fit_pca_lighting, pca_lighting
from deeprob_keras.augment.rand_augment import RandAugment, make_rand_augment
from deeprob_keras.augment.random_erasing import RandomErasing
from deeprob_keras.augment.scale_augmentation import RandomScaleCrop
from deeprob_keras.augment.test_time_augmentation import TestTimeAugmentation
from deeprob_keras.augment.translation import PixelTranslation

__all__ = [
    "BatchedRandAugment", "CutMix", "MixUp", "PCALighting", "PixelTranslation", "RandAugment", "RandomErasing",
    "RandomScaleCrop", "TestTimeAugmentation", "build_augmentation", "cutmix", "fit_pca_lighting", "make_rand_augment",
    "mixup", "pca_lighting",
]
