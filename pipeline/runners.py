"""Run the pipeline locally (LocalDagRunner) or compile it for Kubeflow Pipelines (V2 JSON)."""

import dataclasses
import os
import time

from tfx import v1 as tfx

from pipeline.create_pipeline import create_pipeline
from pipeline.examples import read_examples_info, write_examples
from pipeline.config import resolve_recipe, save_pipeline_config
from pipeline.metadata import custom_property, run_summary
from pipeline.resume import interrupted_run, keep_unchanged_examples


@dataclasses.dataclass
class RunReport:
    """What a local run did, read back from ML Metadata."""

    run: str
    executions: dict
    blessed: bool
    pushed_dir: str
    evaluation_dir: str
    model_dir: str
    model_run_dir: str
    metadata_path: str
    seconds: float
    error: str = None

    @property
    def succeeded(self):
        return self.error is None


def prepare_examples(config, anomaly=None, verbose=True):
    """Writes the train/eval TFRecords the config asks for; returns `ExamplesInfo`."""
    recipe = resolve_recipe(config)
    return write_examples(
        config.examples_dir, config.dataset or recipe.data.dataset,
        max_train_examples=config.max_train_examples, max_eval_examples=config.max_eval_examples,
        classes=recipe.data.classes, examples_per_class=recipe.data.examples_per_class,
        anomaly=anomaly, seed=config.seed, verbose=verbose)


def _newest(artifacts, kind):
    found = artifacts.get(kind, [])
    return max(found, key=lambda a: (a.create_time_since_epoch, a.id)) if found else None


def report_run(config, seconds, error=None):
    """A `RunReport` for the newest run of `config.pipeline_name` in its metadata store."""
    summary = run_summary(config.metadata_path, config.pipeline_name)
    arts = summary["artifacts"]
    blessing = _newest(arts, "ModelBlessing")
    pushed = _newest(arts, "PushedModel")
    evaluation = _newest(arts, "ModelEvaluation")
    model = _newest(arts, "Model")
    model_run = _newest(arts, "ModelRun")
    pushed_dir = None
    if pushed is not None and custom_property(pushed, "pushed") == 1:
        pushed_dir = custom_property(pushed, "pushed_destination")
    return RunReport(
        run=summary["run"], executions=summary["executions"],
        blessed=bool(blessing is not None and custom_property(blessing, "blessed") == 1),
        pushed_dir=pushed_dir, evaluation_dir=evaluation.uri if evaluation is not None else None,
        model_dir=model.uri if model is not None else None,
        model_run_dir=model_run.uri if model_run is not None else None,
        metadata_path=config.metadata_path, seconds=seconds, error=error)


def print_report(report):
    print(f"\ndeeprob pipeline: run {report.run} {'finished' if report.succeeded else 'STOPPED'} "
          f"in {report.seconds:.0f} s")
    for node, states in report.executions.items():
        print(f"  {node:<32} {', '.join(states)}")
    if report.error:
        print(f"  error: {report.error}")
    print(f"  blessed:          {report.blessed}")
    print(f"  pushed model:     {report.pushed_dir or 'nothing pushed'}")
    print(f"  trained model:    {report.model_dir}")
    print(f"  training logs:    {report.model_run_dir}")
    print(f"  evaluation:       {report.evaluation_dir}")
    print(f"  metadata:         {report.metadata_path}", flush=True)


def run_local(config, anomaly=None, write_data=True, verbose=True):
    """Writes the examples, runs the pipeline with LocalDagRunner (Beam DirectRunner), reports.

    Args:
        config: a resolved `PipelineConfig`.
        anomaly: plant one of `pipeline.examples.ANOMALY_KINDS` in the train data (tests).
        write_data: False reuses the TFRecords already in `config.examples_dir`.

    Returns:
        `RunReport`; a run stopped by a failing component (e.g. the anomaly
        gate) has `error` set instead of raising.
    """
    started = time.time()
    os.makedirs(config.pipeline_root, exist_ok=True)
    os.makedirs(os.path.dirname(config.metadata_path), exist_ok=True)
    save_pipeline_config(config, os.path.join(config.pipeline_root, "pipeline_config.yaml"))
    resume = interrupted_run(config)  # a killed or failed run: reuse its finished components (TFX cache)
    if resume and verbose:
        print(f"deeprob pipeline: {resume.describe()}; resuming: unchanged components are reused", flush=True)
    with keep_unchanged_examples(config.examples_dir):  # same examples, same ImportExampleGen fingerprint
        info = prepare_examples(config, anomaly, verbose) if write_data else read_examples_info(config.examples_dir)
    pipeline = create_pipeline(config, class_names=info.class_names, image_shape=info.image_shape,
                               enable_cache=resume is not None)
    error = None
    try:
        tfx.orchestration.LocalDagRunner().run(pipeline)
    except Exception as e:  # a component failed: report what ran, then the error
        error = f"{type(e).__name__}: {e}"
    report = report_run(config, time.time() - started, error)
    if verbose:
        print_report(report)
    return report


def compile_kubeflow(config, output_path):
    """Compiles the pipeline to a Kubeflow Pipelines V2 JSON file; returns its path.

    Every component runs in `config.kubeflow_image` (a container with this
    package installed); the Trainer requests `trainer_accelerator_count` x
    `trainer_accelerator_type`.
    """
    info = read_examples_info(config.examples_dir)
    if info is None:
        info = prepare_examples(config)
    pipeline = create_pipeline(config, class_names=info.class_names, image_shape=info.image_shape,
                               for_kubeflow=True)
    os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(default_image=config.kubeflow_image),
        output_dir=os.path.dirname(os.path.abspath(output_path)),
        output_filename=os.path.basename(output_path))
    runner.run(pipeline, write_out=True)
    print(f"deeprob pipeline: Kubeflow V2 pipeline spec: {os.path.abspath(output_path)} "
          f"(image {config.kubeflow_image})", flush=True)
    return os.path.abspath(output_path)
