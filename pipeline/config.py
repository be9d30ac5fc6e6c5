"""`PipelineConfig`: every knob of the TFX pipeline, validated, loadable from YAML.

Defaults live in the dataclass (one place); a YAML file overrides any subset.
Relative paths are resolved against the current directory when loaded.
"""

import dataclasses
import os
from typing import Any, Optional

import yaml

from deeprob_keras.recipe.validation import RecipeError, from_dict, spec, to_dict
from deeprob_keras.recipe.choices import STRATEGIES

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_SEARCH_SPACE = [
    {"name": "optimizer.learning_rate", "kind": "float", "min": 0.01, "max": 0.2, "sampling": "log"},
]


@dataclasses.dataclass
class PipelineConfig:
    """The TFX pipeline's configuration (see `load_pipeline_config`).

    Example:
        >>> config = load_pipeline_config("pipeline.yaml", {"epochs": 1})
        >>> run_local(config)
    """

    pipeline_name: str = spec("deeprob-transfer-fashion-5-9", doc="name in ML Metadata and Kubeflow")
    pipeline_root: str = spec("runs/pipeline/root", doc="component outputs")
    metadata_path: str = spec("runs/pipeline/metadata.sqlite", doc="ML Metadata SQLite file (local runs)")
    serving_dir: str = spec("runs/pipeline/serving", doc="Pusher target, TF Serving layout <dir>/<version>/")
    examples_dir: str = spec("runs/pipeline/data", doc="tf.Example TFRecords read by ImportExampleGen")
    recipe: str = spec("recipes/pipeline_transfer_fashion_5_9.yaml", doc="training recipe (YAML)")
    recipe_overrides: dict[str, Any] = spec(default_factory=dict, doc="dotted recipe keys, e.g. {'model.widths': [8, 16]}")
    backbone_model: Optional[str] = spec(
        "runs/pipeline/backbone/model.keras",
        doc="the pretrained .keras backbone of a transfer recipe: replaces its transfer.backbone "
            "(null = keep the recipe's); trained from backbone_recipe when missing")
    backbone_recipe: Optional[str] = spec(
        "recipes/pretrain_fashion_0_4.yaml", doc="recipe that trains a missing backbone; null = never train")
    backbone_epochs: Optional[int] = spec(3, range=(1, None), doc="overrides its training.epochs; null = the recipe's")
    backbone_max_examples: Optional[int] = spec(
        12000, range=(1, None), doc="its data.limit_examples (train split, before validation); null = all")
    backbone_recipe_overrides: dict[str, Any] = spec(default_factory=dict, doc="dotted keys, as recipe_overrides")
    dataset: Optional[str] = spec(None, doc="dataset name; default: the recipe's data.dataset")
    max_train_examples: Optional[int] = spec(10000, range=(1, None), doc="null = the whole train split")
    max_eval_examples: Optional[int] = spec(2000, range=(1, None), doc="null = the whole test split")
    epochs: Optional[int] = spec(None, range=(1, None), doc="overrides training.epochs; null = the recipe's")
    enable_tuner: bool = spec(True, doc="run the Tuner (KerasTuner RandomSearch) before the Trainer")
    tuner_trials: int = spec(2, range=(1, None))
    tuner_epochs: int = spec(2, range=(1, None), doc="epochs per trial")
    search_space: Optional[list[dict[str, Any]]] = spec(
        default_factory=lambda: [dict(p) for p in DEFAULT_SEARCH_SPACE],
        doc="used when the recipe has no search_space; null = the recipe's only")
    schema: str = spec("curated", choices=("curated", "inferred"),
                       doc="curated: ImportSchemaGen of the dataset's known facts; inferred: SchemaGen")
    accuracy_lower_bound: float = spec(0.5, range=(0.0, 1.0), doc="blessing needs eval accuracy above this")
    accuracy_change_threshold: float = spec(
        -0.01, range=(-1.0, 1.0), doc="blessing needs accuracy - baseline accuracy above this")
    beam_args: list[str] = spec(default_factory=lambda: ["--direct_running_mode=in_memory",
                                                         "--direct_num_workers=1"])
    kubeflow_image: str = spec("ghcr.io/deeprob/deeprob-keras:0.1.0", doc="container with this package installed")
    kubeflow_pipeline_root: Optional[str] = spec(None, doc="e.g. gs://bucket/deeprob; default pipeline_root")
    trainer_accelerator_type: Optional[str] = spec("NVIDIA_TESLA_T4", doc="GPU type requested by the Trainer")
    trainer_accelerator_count: int = spec(1, range=(0, 16))
    trainer_strategy: str = spec(
        "auto", choices=STRATEGIES,
        doc="the Trainer's tf.distribute strategy, as `deeprob train --strategy`: auto = MirroredStrategy over "
            "2+ GPUs, else the one device; mirrored = MirroredStrategy even of one replica (1.2-1.3x the step time "
            "on one CPU, benchmarks/results/strategy_fresh_process.md)")
    seed: int = spec(0, range=(0, None))

    def validate(self):
        if not self.pipeline_name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"pipeline_name: expected letters, digits, '-' or '_'. Received: {self.pipeline_name!r}")
        for arg in self.beam_args:
            if not arg.startswith("--"):
                raise ValueError(f"beam_args: expected flags like '--direct_num_workers=1'. Received: {arg!r}")

    def resolved(self):
        """A copy with every local path made absolute (URIs like gs:// untouched)."""
        def absolute(p):
            return p if p is None or "://" in p else os.path.abspath(p)
        return dataclasses.replace(
            self, pipeline_root=absolute(self.pipeline_root), metadata_path=absolute(self.metadata_path),
            serving_dir=absolute(self.serving_dir), examples_dir=absolute(self.examples_dir),
            recipe=_recipe_path(self.recipe), backbone_model=absolute(self.backbone_model),
            backbone_recipe=None if self.backbone_recipe is None else _recipe_path(self.backbone_recipe))


def _recipe_path(path):
    """Relative recipe paths: from the current directory, else from the project root."""
    if "://" in path or os.path.isabs(path) or os.path.exists(path):
        return os.path.abspath(path) if "://" not in path else path
    in_project = os.path.join(PROJECT_ROOT, path)
    return in_project if os.path.exists(in_project) else os.path.abspath(path)


def pipeline_config_from_dict(data, where="pipeline config"):
    """Validates a plain dict into a `PipelineConfig` (raises `RecipeError`)."""
    return from_dict(PipelineConfig, data, where)


def load_pipeline_config(path=None, overrides=None):
    """The defaults, then the YAML file at `path` (if any), then `overrides`; paths made absolute.

    Args:
        path: a YAML mapping of `PipelineConfig` fields, or None for the defaults.
        overrides: a dict of fields applied last (e.g. from tests or the CLI).

    Returns:
        A validated `PipelineConfig` with absolute local paths.
    """
    data = {}
    where = "pipeline config"
    if path is not None:
        from deeprob_keras.recipe.io import parse_yaml, read_text_file

        data = parse_yaml(read_text_file(path, "pipeline config file"), path)
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise RecipeError(f"{path}: expected a mapping of pipeline config fields. "
                              f"Received: a YAML {type(data).__name__}")
        where = os.path.basename(path)
    data = {**data, **(overrides or {})}
    return pipeline_config_from_dict(data, where).resolved()


def save_pipeline_config(config, path):
    """Writes the fully resolved config as YAML; returns `path`."""
    import tensorflow as tf

    if "://" not in path:
        path = os.path.abspath(path)
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "w") as f:
        yaml.safe_dump(to_dict(config), f, sort_keys=False)
    return path


def uses_project_backbone(recipe):
    """True for a transfer recipe whose backbone is a `.keras` file (not a keras.applications name)."""
    return (recipe.model.name == "backbone" and recipe.transfer is not None
            and bool(recipe.transfer.backbone) and recipe.transfer.backbone.endswith(".keras"))


def resolve_recipe(config):
    """The recipe the pipeline trains: file, then `recipe_overrides`, `epochs`, `search_space`, and,
    for a transfer recipe with a `.keras` backbone, `transfer.backbone` = `backbone_model` (absolute)."""
    from deeprob_keras.recipe import load_recipe, with_overrides

    recipe = load_recipe(config.recipe)
    overrides = dict(config.recipe_overrides)
    if config.epochs is not None:
        overrides["training.epochs"] = config.epochs
    if uses_project_backbone(with_overrides(recipe, overrides) if overrides else recipe):
        backbone = overrides.get("transfer.backbone", config.backbone_model or recipe.transfer.backbone)
        # The Trainer runs in another directory (or container): give it an absolute path.
        overrides["transfer.backbone"] = backbone if "://" in backbone else os.path.abspath(backbone)
    if config.search_space and not recipe.search_space and "search_space" not in overrides:
        overrides["search_space"] = [dict(p) for p in config.search_space]
    return with_overrides(recipe, overrides) if overrides else recipe


def resolve_backbone_recipe(config):
    """The recipe that pretrains a missing backbone: `backbone_recipe` with the small budget applied."""
    from deeprob_keras.recipe import load_recipe, with_overrides

    if config.backbone_recipe is None:
        return None
    recipe = load_recipe(config.backbone_recipe)
    overrides = {}
    if config.backbone_epochs is not None:
        overrides["training.epochs"] = config.backbone_epochs  # the run plan fits the warmup
    if config.backbone_max_examples is not None:
        overrides["data.limit_examples"] = config.backbone_max_examples
    overrides.update(config.backbone_recipe_overrides)
    return with_overrides(recipe, overrides) if overrides else recipe
