"""Run the pipeline locally (LocalDagRunner) or compile it for Kubeflow Pipelines (V2 JSON)."""

import dataclasses
import json
import os
import sys
import time

import tensorflow as tf
from tfx.orchestration.local.local_dag_runner import LocalDagRunner

from deeprob_pipeline.backbone import ensure_backbone
from deeprob_pipeline.create_pipeline import create_pipeline
from deeprob_pipeline.examples import read_examples_info, write_examples
from deeprob_pipeline.config import resolve_recipe, save_pipeline_config, uses_project_backbone
from deeprob_pipeline.metadata import custom_property, run_summary
from deeprob_pipeline.resume import interrupted_run, keep_unchanged_examples
from deeprob_pipeline.timings import START_UP, format_rows, wall_time_rows

REPORT_FILE = "run_report.json"  # in the pipeline root


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
    backbone: str = None
    examples_dir: str = None
    component_seconds: dict = dataclasses.field(default_factory=dict)
    wall_time: list = dataclasses.field(default_factory=list)  # rows of `timings.wall_time_rows`
    report_path: str = None

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
        metadata_path=config.metadata_path, seconds=seconds, error=error,
        examples_dir=config.examples_dir, component_seconds=summary.get("seconds", {}))


def evaluation_summary(evaluation_dir, metric="sparse_categorical_accuracy"):
    """The Evaluator's verdict on `metric`, read back from its TFMA output.

    Returns:
        {"candidate", "baseline", "change" (candidate - baseline; None without a
        baseline), "validation_ok", "failures": [{"metric", "is_diff", "value",
        "message"}] (all of the overall slice), "per_class": {label: {"accuracy",
        "examples"}} (the candidate's, from the label slices)}; None when there is
        no evaluation.
    """
    import tensorflow_model_analysis as tfma

    if not evaluation_dir or not os.path.isdir(evaluation_dir):
        return None
    summary = {"candidate": None, "baseline": None, "change": None, "per_class": {}}
    for per_slice in tfma.load_metrics(evaluation_dir):
        keys = per_slice.slice_key.single_slice_keys
        label = None
        if keys:
            if len(keys) != 1 or keys[0].column != "label":
                continue
            label = int(keys[0].int64_value)
        for kv in per_slice.metric_keys_and_values:
            candidate = not kv.key.is_diff and kv.key.model_name != "baseline"
            if label is not None:
                if candidate and kv.key.name in (metric, "example_count"):
                    name = "accuracy" if kv.key.name == metric else "examples"
                    summary["per_class"].setdefault(label, {})[name] = kv.value.double_value.value
                continue
            if kv.key.name != metric:
                continue
            value = kv.value.double_value.value
            if kv.key.is_diff:
                summary["change"] = value
            elif kv.key.model_name == "baseline":
                summary["baseline"] = value
            else:
                summary["candidate"] = value
    summary["per_class"] = dict(sorted(summary["per_class"].items()))
    validation = tfma.load_validation_result(evaluation_dir)
    summary["validation_ok"] = bool(validation.validation_ok)
    summary["failures"] = [
        {"metric": f.metric_key.name, "is_diff": bool(f.metric_key.is_diff),
         "value": f.metric_value.double_value.value, "message": f.message}
        for s in validation.metric_validations_per_slice for f in s.failures]
    return summary


def _class_names(examples_dir):
    """The class names of `info.json`, or None: the report then shows the labels."""
    try:
        info = read_examples_info(examples_dir) if examples_dir else None
    except Exception:  # noqa: BLE001 - class names are a nicety; the report must not fail on them
        return None
    return list(info.class_names) if info is not None else None


def _per_class_line(per_class, class_names):
    parts = []
    for label, m in per_class.items():
        name = class_names[label] if class_names and 0 <= label < len(class_names) else str(label)
        if "accuracy" in m:
            parts.append(f"{name} {m['accuracy']:.3f}")
    return ", ".join(parts)


def print_report(report):
    print(f"\ndeeprob pipeline: run {report.run} {'finished' if report.succeeded else 'STOPPED'} "
          f"in {report.seconds:.0f} s")
    if report.wall_time:  # each component's state and wall time, with the steps around them
        print("\n".join(format_rows(report.wall_time, report.seconds, report.executions)))
    else:
        for node, states in report.executions.items():
            print(f"  {node:<32} {', '.join(states)}")
    if report.error:
        print(f"  error: {report.error}")
    summary = None
    try:
        summary = evaluation_summary(report.evaluation_dir)
    except Exception as e:  # the report must not fail on an unreadable evaluation
        print(f"  evaluation unreadable: {e}")
    if summary and summary["candidate"] is not None:
        line = f"eval accuracy {summary['candidate']:.4f}"
        if summary["baseline"] is not None:
            line += f", baseline {summary['baseline']:.4f}, change {summary['change']:+.4f}"
        print(f"  evaluator:        {line}")
        if summary["per_class"]:
            print(f"  per class:        {_per_class_line(summary['per_class'], _class_names(report.examples_dir))}")
        for failure in summary["failures"]:
            print(f"  not blessed:      {failure['message']}")
    print(f"  blessed:          {report.blessed}")
    print(f"  pushed model:     {report.pushed_dir or 'nothing pushed'}")
    if report.backbone:
        print(f"  backbone:         {report.backbone}")
    print(f"  trained model:    {report.model_dir}")
    print(f"  training logs:    {report.model_run_dir}")
    print(f"  evaluation:       {report.evaluation_dir}")
    print(f"  metadata:         {report.metadata_path}")
    if report.report_path:
        print(f"  run report:       {report.report_path}")
    sys.stdout.flush()


def report_dict(report):
    """The `RunReport` as plain JSON-able data (what `run_report.json` holds)."""
    return {**dataclasses.asdict(report), "succeeded": report.succeeded}


def write_report(report, path):
    """Writes `report_dict(report)` as JSON to `path` (local or gs://); returns `path`."""
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(json.dumps(report_dict(report), indent=2) + "\n")
    return path


def run_local(config, anomaly=None, write_data=True, verbose=True, process_started=None):
    """Pretrains a missing backbone, writes the examples, runs the pipeline with LocalDagRunner
    (Beam DirectRunner), reports.

    Args:
        config: a resolved `PipelineConfig`.
        anomaly: plant one of `deeprob_pipeline.examples.ANOMALY_KINDS` in the train data (tests).
        write_data: False reuses the TFRecords already in `config.examples_dir`.
        process_started: when the process started (`timings.process_start_time()`; the CLI
            passes it): the report's first row is then the start-up before this call, and its
            total the command's whole wall time.

    Returns:
        `RunReport`; a run stopped by a failing component (e.g. the anomaly
        gate) has `error` set instead of raising.
    """
    started = time.time()
    stages = {}  # wall time of the steps outside the TFX components
    if process_started is not None and process_started <= started:
        stages[START_UP] = started - process_started
        started = process_started
    tf.io.gfile.makedirs(config.pipeline_root)  # local, or gs://... for other Beam runners
    os.makedirs(os.path.dirname(config.metadata_path), exist_ok=True)
    save_pipeline_config(config, os.path.join(config.pipeline_root, "pipeline_config.yaml"))
    mark = time.time()
    backbone = ensure_backbone(config, verbose=verbose)
    stages["backbone"] = time.time() - mark
    resume = interrupted_run(config)  # a killed or failed run: reuse its finished components (TFX cache)
    if resume and verbose:
        print(f"deeprob pipeline: {resume.describe()}; resuming: unchanged components are reused", flush=True)
    mark = time.time()
    with keep_unchanged_examples(config.examples_dir):  # same examples, same ImportExampleGen fingerprint
        info = prepare_examples(config, anomaly, verbose) if write_data else read_examples_info(config.examples_dir)
    stages["examples"] = time.time() - mark
    pipeline = create_pipeline(config, class_names=info.class_names, image_shape=info.image_shape,
                               enable_cache=resume is not None)
    error = None
    mark = time.time()
    try:
        LocalDagRunner().run(pipeline)
    except Exception as e:  # a component failed: report what ran, then the error
        error = f"{type(e).__name__}: {e}"
    pipeline_seconds = time.time() - mark
    report = report_run(config, time.time() - started, error)
    if backbone.path:
        report.backbone = f"{backbone.path} ({backbone.action})"
    report.wall_time = wall_time_rows(stages, report.component_seconds, pipeline_seconds, report.seconds)
    report.report_path = write_report(report, os.path.join(config.pipeline_root, REPORT_FILE))
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
    recipe = resolve_recipe(config)
    if uses_project_backbone(recipe):
        print(f"deeprob pipeline: the Trainer loads its backbone from {recipe.transfer.backbone}: the "
              f"container must find that file there (bake it into the image or mount it; set "
              f"backbone_model in the config)", flush=True)
    pipeline = create_pipeline(config, class_names=info.class_names, image_shape=info.image_shape,
                               for_kubeflow=True)
    os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)
    from tfx.orchestration.kubeflow.v2.kubeflow_v2_dag_runner import (  # kfp: only when compiling
        KubeflowV2DagRunner, KubeflowV2DagRunnerConfig)

    runner = KubeflowV2DagRunner(
        config=KubeflowV2DagRunnerConfig(default_image=config.kubeflow_image),
        output_dir=os.path.dirname(os.path.abspath(output_path)),
        output_filename=os.path.basename(output_path))
    runner.run(pipeline, write_out=True)
    print(f"deeprob pipeline: Kubeflow V2 pipeline spec: {os.path.abspath(output_path)} "
          f"(image {config.kubeflow_image})", flush=True)
    return os.path.abspath(output_path)
