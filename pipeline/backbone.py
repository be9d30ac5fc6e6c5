"""`ensure_backbone(config)`: the pretrained backbone a transfer recipe needs, trained once if missing.

The pipeline's default recipe transfers from a backbone pretrained on
Fashion-MNIST classes 0-4. A fresh machine has none, so before the pipeline
runs, `deeprob pipeline run` trains `backbone_recipe` (with the config's small
budget) through the library's `train_recipe`, outside TFX, and keeps the
`.keras` file at `backbone_model` (under the pipeline's runs dir). Later runs
reuse it. The file appears complete or not at all (copied to a temporary name,
then renamed), so a killed run trains it again (resuming from its backup).
"""

import dataclasses
import os
import shutil
import time

from deeprob_pipeline.config import resolve_backbone_recipe, resolve_recipe, uses_project_backbone


@dataclasses.dataclass
class BackboneStatus:
    """What `ensure_backbone` did: "none" (recipe needs no file), "reused" or "trained"."""

    action: str
    path: str = None
    test_accuracy: float = None
    seconds: float = 0.0


def ensure_backbone(config, verbose=True):
    """Makes sure the transfer recipe's `transfer.backbone` file exists; trains it when missing.

    Args:
        config: a resolved `PipelineConfig`.
        verbose: print progress (a Keras line per epoch while training).

    Returns:
        `BackboneStatus`.

    Raises:
        FileNotFoundError: the backbone is missing and `backbone_recipe` is null,
            or it is a remote URI (train it elsewhere and copy it there).

    Example:
        >>> ensure_backbone(load_pipeline_config()).path
        '/home/me/deeprob-keras/runs/pipeline/backbone/model.keras'
    """
    recipe = resolve_recipe(config)
    if not uses_project_backbone(recipe):
        return BackboneStatus("none")
    path = recipe.transfer.backbone
    if "://" in path:
        if verbose:
            print(f"deeprob pipeline: backbone {path} (remote: not checked, not trained here)", flush=True)
        return BackboneStatus("none", path)
    if os.path.exists(path):
        if verbose:
            print(f"deeprob pipeline: reusing the pretrained backbone {path}", flush=True)
        return BackboneStatus("reused", path)
    source = resolve_backbone_recipe(config)
    if source is None:
        raise FileNotFoundError(f"transfer.backbone {path} does not exist and backbone_recipe is null: "
                                f"train it first (deeprob train RECIPE) or set backbone_recipe")
    from deeprob_keras.training import train_recipe

    work_dir = os.path.join(os.path.dirname(path), "training")
    if verbose:
        print(f"deeprob pipeline: no backbone at {path}: pretraining {source.name!r} "
              f"({os.path.basename(config.backbone_recipe)}, {source.training.epochs} epoch(s), "
              f"classes {source.data.classes or 'all'}, at most {source.data.limit_examples or 'all'} "
              f"train examples) in {work_dir}", flush=True)
    started = time.time()
    result = train_recipe(source, work_dir, verbose=2 if verbose else 0, export=False)
    tmp = path + ".tmp"
    shutil.copyfile(result.paths["model"], tmp)
    os.replace(tmp, path)
    seconds = time.time() - started
    accuracy = result.metrics["test_accuracy"]
    if verbose:
        print(f"deeprob pipeline: backbone pretrained in {seconds:.0f} s, test accuracy on its own "
              f"classes {accuracy:.4f}: {path}", flush=True)
    return BackboneStatus("trained", path, accuracy, seconds)
