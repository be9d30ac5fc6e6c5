"""The recipe schema: every knob of a training run, one place for each default.

A recipe file (YAML) maps onto `Recipe`; `deeprob_keras.recipe.load_recipe`
validates it. Sections are owned by the builder that consumes them
(`build_model`, `build_optimizer`, `build_schedule`, `build_augmentation`,
`build_callbacks`, `build_loss`); the allowed names of each named choice come
from `deeprob_keras.recipe.choices` (the builders' registries).
"""

import dataclasses
import difflib
import os
from typing import Optional

from deeprob_keras.recipe import choices
from deeprob_keras.recipe.validation import spec

UNIT = (0.0, 1.0)
# What is known about a dataset before loading it: (image side, number of classes).
KNOWN_DATASETS = {"fashion_mnist": (28, 10), "digits": (8, 10)}


@dataclasses.dataclass
class DataSpec:
    dataset: str = spec("fashion_mnist", doc="TFDS name, 'fashion_mnist' (offline Debian files) or 'digits' (sklearn)")
    data_dir: Optional[str] = spec(None, doc="TFDS data_dir; default ~/.cache/deeprob/tfds")
    validation_fraction: float = spec(0.1, range=(0.0, 0.5), hi_open=True, doc="share of train held out for validation")
    limit_examples: Optional[int] = spec(None, range=(1, None), doc="keep only the first N training examples")
    classes: Optional[list[int]] = spec(None, range=(0, None), doc="keep only these labels (relabelled 0..K-1)")
    examples_per_class: Optional[int] = spec(None, range=(1, None), doc="keep N training examples per class")
    image_size: Optional[int] = spec(None, range=(8, 1024), doc="resize images to SxS (e.g. digits 8->28)")
    channels: Optional[int] = spec(None, choices=(1, 3), doc="force grayscale (1) or RGB (3)")
    shuffle_buffer: int = spec(10000, range=(1, None), doc="TFRecord data (the pipeline's Trainer); in-memory arrays "
                               "get a full permutation per epoch, keyed by (seed, epoch)")


@dataclasses.dataclass
class ModelSpec:
    name: str = spec("small_resnet", choices=choices.MODEL_NAMES,
                     doc="backbone = a pretrained network with a new head, configured by the `transfer` section")
    widths: list[int] = spec(default_factory=lambda: [16, 32, 64], range=(1, 4096), doc="channels per stage")
    blocks_per_stage: int = spec(1, range=(1, 16))
    first_stage_blocks: Optional[int] = spec(
        None, range=(0, 16), doc="residual blocks of the first stage, at the input's resolution; "
                                 "None = blocks_per_stage; 0 = the stem convolution alone (on 2 CPU cores "
                                 "a block there is 15-20% of the wide 4-stage step)")
    batch_norm: bool = spec(True)
    zero_init_residual: bool = spec(False, doc="each residual branch's last BatchNorm starts at gamma = 0: "
                                              "every block starts as its shortcut (needs batch_norm)")
    bn_momentum: float = spec(0.9, range=UNIT, hi_open=True, doc="BatchNorm moving-average momentum (Keras's 0.99 lags on short runs)")
    fused_batch_norm: bool = spec(False, doc="BatchNorm through TensorFlow's fused kernel (same formula and variables; "
                                             "training steps 1.25-1.31x faster on three recipes, 2 CPU cores; "
                                             "needs batch_norm)")
    head_dropout: float = spec(0.0, range=UNIT, hi_open=True, doc="inverted dropout before the classifier")
    head: str = spec("dense", choices=choices.HEAD_NAMES, doc="classifier layer")
    head_dropconnect: float = spec(0.5, range=UNIT, hi_open=True, doc="DropConnect rate when head=dropconnect")
    stochastic_depth: float = spec(0.0, range=UNIT, hi_open=True, doc="drop rate of the deepest residual block")
    stochastic_depth_linear_decay: bool = spec(True, doc="drop rate grows linearly with depth up to stochastic_depth")
    pooling: str = spec("stride", choices=choices.POOLING_NAMES, doc="how stages downsample")
    fractional_pooling_ratio: float = spec(1.4142135623730951, range=(1.0, 2.0), lo_open=True)
    fractional_pooling_test_samples: int = spec(
        1, range=(1, 256), doc="pooling=fractional_max: inference (evaluation, export, serving) averages K passes "
                               "with random pooling regions; 1 = fixed regions, deterministic; cost K x")


@dataclasses.dataclass
class OptimizerSpec:
    name: str = spec("sgd", choices=choices.OPTIMIZER_NAMES)
    learning_rate: float = spec(0.05, range=(0.0, None), lo_open=True)
    momentum: float = spec(0.9, range=UNIT, hi_open=True)
    nesterov: bool = spec(True)
    weight_decay: float = spec(0.0, range=(0.0, None), doc="decoupled weight decay (optimizer)")
    decay_all_parameters: bool = spec(False, doc="weight decay also on biases and BatchNorm/LayerNorm gamma, beta")
    clipnorm: Optional[float] = spec(None, range=(0.0, None), lo_open=True)
    use_ema: bool = spec(False, doc="Polyak/EMA averaging of the weights")
    ema_momentum: float = spec(0.995, range=UNIT, hi_open=True)
    base_batch_size: Optional[int] = spec(None, range=(1, None), doc="linear scaling rule: lr *= global_batch / base_batch_size")


@dataclasses.dataclass
class ScheduleSpec:
    name: str = spec("cosine", choices=choices.SCHEDULE_NAMES)
    warmup_epochs: float = spec(0.0, range=(0.0, None),
                                doc="linear warmup; a run gets min(warmup_epochs, 0.25 x training.epochs)")
    boundaries_epochs: list[float] = spec(default_factory=lambda: [30.0, 60.0, 90.0], range=(0.0, None), doc="step schedule")
    gamma: float = spec(0.1, range=(0.0, None), lo_open=True, doc="step schedule factor")
    cycle_epochs: float = spec(5.0, range=(0.0, None), lo_open=True, doc="cosine_restarts: first cycle length")
    cycle_mult: float = spec(1.0, range=(1.0, None), doc="cosine_restarts: cycle growth factor")
    min_lr_fraction: float = spec(0.0, range=UNIT, doc="cosine floor as a fraction of the peak")


@dataclasses.dataclass
class RegularizationSpec:
    penalty: str = spec("none", choices=choices.PENALTY_NAMES, doc="added to the loss, kernels only")
    l2: float = spec(0.0, range=(0.0, None), doc="lambda of l2 (and beta of elastic_net)")
    l1: float = spec(0.0, range=(0.0, None), doc="lambda of l1 (and of elastic_net)")
    label_smoothing: float = spec(0.0, range=UNIT, hi_open=True)


@dataclasses.dataclass
class AugmentationSpec:
    flip: bool = spec(False, doc="random horizontal flip")
    translate: int = spec(0, range=(0, 64), doc="random shift of up to T pixels in x and y, zero fill (0 = off)")
    scale_min: Optional[int] = spec(None, range=(1, None), doc="resize short side to L in [scale_min, scale_max], then random crop")
    scale_max: Optional[int] = spec(None, range=(1, None))
    crop_size: Optional[int] = spec(None, range=(1, None), doc="S of the random SxS crop")
    brightness: float = spec(0.0, range=UNIT)
    contrast: float = spec(0.0, range=UNIT)
    pca_lighting: float = spec(0.0, range=(0.0, None), doc="AlexNet PCA lighting std (RGB data)")
    random_erasing: float = spec(0.0, range=UNIT, doc="probability of erasing a rectangle")
    erasing_fill: str = spec("random", choices=choices.ERASING_FILLS)
    randaugment_ops: int = spec(0, range=(0, 14), doc="N of RandAugment (0 = off)")
    randaugment_magnitude: float = spec(0.5, range=UNIT, doc="M of RandAugment, as a fraction of the max")
    mixup_alpha: float = spec(0.0, range=(0.0, None), doc="Beta(a, a) of Mixup (0 = off)")
    cutmix_alpha: float = spec(0.0, range=(0.0, None), doc="Beta(a, a) of CutMix (0 = off)")
    tta: str = spec("none", choices=choices.TTA_MODES,
                   doc="test-time augmentation")
    tta_crop_size: int = spec(24, range=(1, None), doc="ten_crop: side of the 4 corner + centre crops")
    tta_scales: list[int] = spec(default_factory=lambda: [24, 28, 32], range=(1, None), doc="scales / multi_scale_crops: sizes averaged over (multi_scale_crops: each >= the image side)")
    tta_translate: int = spec(1, range=(1, 64), doc="flip_translate, flip_cross: shift of the shifted views, in pixels")

    def validate(self):
        given = [self.scale_min is not None, self.scale_max is not None, self.crop_size is not None]
        if any(given) and not all(given):
            raise ValueError("scale augmentation needs scale_min, scale_max and crop_size together")
        if all(given):
            if self.scale_min > self.scale_max:
                raise ValueError(
                    f"scale_min must be <= scale_max. Received: scale_min={self.scale_min}, scale_max={self.scale_max}")
            if self.crop_size > self.scale_min:
                raise ValueError(
                    f"crop_size must be <= scale_min (the crop must fit the resized image). "
                    f"Received: crop_size={self.crop_size}, scale_min={self.scale_min}")


@dataclasses.dataclass
class CallbacksSpec:
    early_stopping_patience: Optional[int] = spec(None, range=(1, None), doc="epochs without val improvement (None = off)")
    monitor: str = spec("val_accuracy", choices=("val_accuracy", "val_loss"))
    snapshots: bool = spec(False, doc="keep weights at the end of every cosine_restarts cycle")
    update_ratio_every: Optional[int] = spec(None, range=(1, None), doc="log ||dW||/||W|| every k steps")
    update_ratio_band: list[float] = spec(default_factory=lambda: [1e-4, 1e-2], range=(0.0, None))
    terminate_on_nan: bool = spec(True)
    backup: bool = spec(True, doc="BackupAndRestore in the output dir: resume after a crash")
    restore_best: bool = spec(True, doc="evaluate and export the best validation epoch's weights (best.keras, "
                                        "averaged with EMA), not the last epoch's")


@dataclasses.dataclass
class TrainingSpec:
    epochs: int = spec(10, range=(1, None))
    batch_size: int = spec(128, range=(1, None), doc="per replica")
    jit_compile: bool = spec(False, doc="XLA; measured 1.7x slower on 2 CPU cores")
    precision: str = spec("float32", choices=choices.PRECISIONS,
                          doc="mixed_bfloat16: bfloat16 compute, float32 weights (fast only where the CPU/GPU has "
                              "bfloat16 units, e.g. AVX512_BF16/AMX; measure first: benchmarks/flops_efficiency.py); "
                              "auto: mixed_bfloat16 on a CPU with bfloat16 instructions and no GPU, else float32")
    ensemble_members: int = spec(1, range=(1, 32), doc="N independently trained models (seeds seed..seed+N-1)")
    steps_per_execution: int = spec(1, range=(1, None))
    progressive_resize_min: Optional[int] = spec(
        None, range=(1, None), doc="progressive resizing: the image side epoch 0 trains at, rising linearly to full "
                                   "size at progressive_resize_epochs (None = off; validation and test at full size)")
    progressive_resize_epochs: int = spec(0, range=(0, None), doc="progressive resizing: the first epoch at full size "
                                                                  "(a run gets at most 3/4 of its epochs)")
    validate_last_epochs: Optional[int] = spec(
        None, range=(1, None), doc="validate only in the last N epochs of each fit (None = every epoch; a shorter run "
                                   "validates all its epochs): saves the early epochs' validation passes; the best "
                                   "checkpoint is chosen among those N")


@dataclasses.dataclass
class SearchParam:
    name: str = spec("", doc="dotted recipe key, e.g. optimizer.learning_rate")
    kind: str = spec("float", choices=choices.SEARCH_KINDS)
    min: Optional[float] = spec(None)
    max: Optional[float] = spec(None)
    sampling: str = spec("linear", choices=choices.SEARCH_SAMPLINGS)
    values: Optional[list] = spec(None)


@dataclasses.dataclass
class TransferSpec:
    """Transfer learning (model.name=backbone): which backbone, where to cut, what to train.

    optimizer.learning_rate is the learning rate of the new head (feature
    extraction); fine-tuning runs at lr_factor x optimizer.learning_rate.
    """

    backbone: Optional[str] = spec(None, doc="path of a .keras model, or a keras.applications name (e.g. MobileNetV3Small)")
    weights: Optional[str] = spec(None, doc="applications only: null (random), 'imagenet' (needs network) or a weights file")
    cut_layer: str = spec("features", doc="layer whose output feeds the new head ('features' = pooled top layer)")
    input_size: Optional[int] = spec(None, range=(8, 1024), doc="resize to SxS before the backbone (default: its own size; applications >= 32)")
    mode: str = spec("two_phase", choices=("feature_extraction", "fine_tune", "two_phase"),
                     doc="two_phase = feature extraction for feature_extraction_epochs, then fine-tuning for training.epochs")
    freeze_fraction: Optional[float] = spec(None, range=UNIT, doc="fine-tuning: share of the backbone's weighted layers, from the bottom, kept frozen")
    freeze_until: Optional[str] = spec(None, doc="fine-tuning: keep this layer and every layer below it frozen (e.g. stage1)")
    lr_factor: float = spec(0.1, range=(0.0, None), lo_open=True, doc="fine-tuning learning rate = lr_factor x optimizer.learning_rate")
    feature_extraction_epochs: int = spec(3, range=(1, None), doc="phase 1 of two_phase")
    head_hidden: int = spec(0, range=(0, 4096), doc="0 = linear head; >0 = hidden ReLU layer of this width (model.head_dropout applies)")
    bn_inference: bool = spec(True, doc="run the backbone in inference mode while fine-tuning (BatchNorm keeps its moving statistics)")
    initial_model: Optional[str] = spec(None, doc="a .keras model of this architecture whose weights start the run (set by two_phase for phase 2)")

    def validate(self):
        if self.freeze_fraction is not None and self.freeze_until is not None:
            raise ValueError(
                "give freeze_fraction or freeze_until, not both. "
                f"Received: freeze_fraction={self.freeze_fraction}, freeze_until={self.freeze_until!r}")


@dataclasses.dataclass
class Recipe:
    name: str = spec("recipe")
    seed: int = spec(0, range=(0, None))
    data: DataSpec = spec(default_factory=DataSpec)
    model: ModelSpec = spec(default_factory=ModelSpec)
    optimizer: OptimizerSpec = spec(default_factory=OptimizerSpec)
    schedule: ScheduleSpec = spec(default_factory=ScheduleSpec)
    regularization: RegularizationSpec = spec(default_factory=RegularizationSpec)
    augmentation: AugmentationSpec = spec(default_factory=AugmentationSpec)
    callbacks: CallbacksSpec = spec(default_factory=CallbacksSpec)
    training: TrainingSpec = spec(default_factory=TrainingSpec)
    search_space: list[SearchParam] = spec(default_factory=list)
    transfer: Optional[TransferSpec] = spec(None)

    def validate(self):
        # No warmup-vs-epochs refusal: the run plan fits the warmup to the run
        # (deeprob_keras.training.plan.fitted_warmup_epochs), so `--epochs 1` works with any recipe.
        if self.callbacks.snapshots and self.schedule.name != "cosine_restarts":
            raise ValueError("callbacks.snapshots needs schedule.name: cosine_restarts")
        if self.model.name == "backbone" and (self.transfer is None or not self.transfer.backbone):
            raise ValueError("model.name=backbone needs transfer.backbone (a .keras path or a keras.applications name)")
        if self.data.classes is not None and len(set(self.data.classes)) < 2:
            raise ValueError(f"data.classes must keep at least 2 classes. Received: classes={self.data.classes}")
        if self.model.fractional_pooling_test_samples > 1 and self.model.pooling != "fractional_max":
            raise ValueError("model.fractional_pooling_test_samples > 1 needs model.pooling: fractional_max. "
                             f"Received: pooling={self.model.pooling!r}")
        if self.model.fused_batch_norm and (self.model.name != "small_resnet" or not self.model.batch_norm):
            raise ValueError("model.fused_batch_norm needs model.name: small_resnet with model.batch_norm: true. "
                             f"Received: model.name={self.model.name!r}, model.batch_norm={self.model.batch_norm}")
        if self.model.zero_init_residual and (self.model.name != "small_resnet" or not self.model.batch_norm):
            raise ValueError("model.zero_init_residual needs model.name: small_resnet with model.batch_norm: true. "
                             f"Received: name={self.model.name!r}, batch_norm={self.model.batch_norm}")
        if self.model.first_stage_blocks is not None and self.model.name != "small_resnet":
            raise ValueError("model.first_stage_blocks needs model.name: small_resnet. "
                             f"Received: name={self.model.name!r}, first_stage_blocks={self.model.first_stage_blocks}")
        tr = self.training
        if (tr.progressive_resize_min is None) != (tr.progressive_resize_epochs == 0):
            raise ValueError("progressive resizing needs training.progressive_resize_min and "
                             "training.progressive_resize_epochs >= 1 together. Received: "
                             f"progressive_resize_min={tr.progressive_resize_min}, "
                             f"progressive_resize_epochs={tr.progressive_resize_epochs}")
        if tr.progressive_resize_min is not None and self.model.name != "small_resnet":
            raise ValueError("training.progressive_resize_min needs model.name: small_resnet (a convolutional "
                             f"network that takes any image size). Received: name={self.model.name!r}")
        if tr.validate_last_epochs is not None:
            if self.callbacks.early_stopping_patience:
                raise ValueError("callbacks.early_stopping_patience needs validation every epoch: remove "
                                 "training.validate_last_epochs or early stopping. Received: validate_last_epochs="
                                 f"{tr.validate_last_epochs}, early_stopping_patience="
                                 f"{self.callbacks.early_stopping_patience}")
        if self.transfer is not None and self.model.name != "backbone":
            raise ValueError(f"the transfer section needs model.name: backbone. Received: model.name={self.model.name!r}")
        self._validate_cross_fields()

    def _validate_cross_fields(self):
        """Constraints between sections that would otherwise fail after the data is loaded."""
        if self.model.name != "backbone" and not self.model.widths:
            raise ValueError(f"model.widths must list at least one stage width for model.name={self.model.name!r}. "
                             f"Received: widths={self.model.widths}")
        if self.schedule.name == "step":
            bounds = list(self.schedule.boundaries_epochs)
            if any(a >= b for a, b in zip(bounds, bounds[1:])):
                raise ValueError(f"schedule.boundaries_epochs must be strictly increasing. Received: {bounds}")
            warmup = self.schedule.warmup_epochs
            if warmup > 0 and any(b <= warmup for b in bounds):
                raise ValueError(f"schedule.boundaries_epochs must all come after schedule.warmup_epochs ({warmup}). "
                                 f"Received: {bounds}")
        known = KNOWN_DATASETS.get(self.data.dataset)
        if known is not None:
            side, num_classes = known
            side = self.data.image_size or side
            aug = self.augmentation
            if aug.tta == "ten_crop" and aug.tta_crop_size > side:
                raise ValueError(
                    f"augmentation.tta_crop_size must be <= the image side ({side} for data.dataset="
                    f"{self.data.dataset!r}, data.image_size={self.data.image_size}). "
                    f"Received: tta_crop_size={aug.tta_crop_size}")
            if aug.tta == "multi_scale_crops" and min(aug.tta_scales, default=side) < side:
                raise ValueError(
                    f"augmentation.tta_scales must all be >= the image side ({side} for data.dataset="
                    f"{self.data.dataset!r}) with tta=multi_scale_crops: the 10 crops are taken at the input "
                    f"size from the image resized to each scale. Received: tta_scales={list(aug.tta_scales)}")
            for key, shift in (("translate", aug.translate), ("tta_translate", aug.tta_translate)):
                if shift >= side:
                    raise ValueError(
                        f"augmentation.{key} must be smaller than the image side ({side} for data.dataset="
                        f"{self.data.dataset!r}). Received: {key}={shift}")
            if (self.training.progressive_resize_min or 0) > side:
                raise ValueError(
                    f"training.progressive_resize_min must be <= the image side ({side} for data.dataset="
                    f"{self.data.dataset!r}). Received: progressive_resize_min={self.training.progressive_resize_min}")
            outside = sorted({c for c in self.data.classes or () if c >= num_classes})
            if outside:
                raise ValueError(
                    f"data.classes must be labels of {self.data.dataset!r} (0..{num_classes - 1}). "
                    f"Received: classes={self.data.classes} ({outside} outside)")
        if self.model.name == "backbone" and self.transfer is not None and self.transfer.backbone:
            _check_application_name(self.transfer.backbone)


def _is_path(name):
    return name.endswith(".keras") or os.sep in name or "/" in name or os.path.exists(name)


def _check_application_name(name):
    """A backbone that is not a path must be a `keras.applications` name."""
    if _is_path(name):
        return
    import keras  # only for recipes that name an application backbone

    if hasattr(keras.applications, name) and name[:1].isupper():
        return
    names = [n for n in dir(keras.applications) if n[:1].isupper()]
    hint = difflib.get_close_matches(name, names, n=1)
    extra = f" Did you mean {hint[0]!r}?" if hint else ""
    raise ValueError(
        f"transfer.backbone: {name!r} is neither a .keras path nor a keras.applications name.{extra}")
