"""`create_pipeline(config)`: the whole TFX pipeline, built in one call.

ImportExampleGen -> StatisticsGen -> SchemaGen (curated: ImportSchemaGen) ->
ExampleValidator -> AnomalyGate -> [Tuner] -> Trainer -> latest blessed model
resolver -> Evaluator (TFMA, accuracy bound and change vs. the baseline) ->
Pusher (filesystem, TF Serving layout, only when blessed; `AtomicPusher`: a version
folder is complete or absent).

Every component is created inside this function: the DSL binds components to
the pipeline being built, and the Kubeflow V2 compiler relies on it.

The TFX names are imported from their own modules, not through `tfx.v1`: that
public namespace imports every TFX component (InfraValidator, BulkInferrer, ...),
kfp and the Google Cloud extensions, which a local run never uses (about 3 s of
start-up: docs/MEASUREMENTS_NOTES.md, "The pipeline's fixed cost").
"""

import os

import tensorflow_model_analysis as tfma
from tfx.components.evaluator.component import Evaluator
from tfx.components.example_gen.import_example_gen.component import ImportExampleGen
from tfx.components.example_validator.component import ExampleValidator
from tfx.components.schema_gen.component import SchemaGen
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.components.statistics_gen.component import StatisticsGen
from tfx.components.trainer.component import Trainer
from tfx.components.tuner.component import Tuner
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy
from tfx.orchestration.metadata import sqlite_metadata_connection_config
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import example_gen_pb2, pusher_pb2, trainer_pb2
from tfx.types import standard_artifacts
from tfx.types.channel import Channel

from deeprob_keras.recipe.validation import to_dict
from deeprob_pipeline.anomaly_gate import AnomalyGate
from deeprob_pipeline.atomic_pusher import AtomicPusher
from deeprob_pipeline.config import resolve_recipe
from deeprob_pipeline.examples import read_examples_info
from deeprob_pipeline.schema import write_curated_schema

RUN_FN = "deeprob_pipeline.trainer_module.run_fn"
TUNER_FN = "deeprob_pipeline.trainer_module.tuner_fn"
LABEL_KEY = "label"
PREDICTION_KEY = "probabilities"


def eval_config(config):
    """TFMA EvalConfig: sparse categorical accuracy above a bound and not worse than the baseline.

    Metrics are computed overall and per class (a slice on the label feature);
    the thresholds gate the overall slice only. They sit in `per_slice_thresholds`
    with the overall `SlicingSpec()`: a plain `threshold` would apply to every
    slice, so one weak class would refuse the model.
    """
    threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": config.accuracy_lower_bound}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": config.accuracy_change_threshold}))
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="serving_default", label_key=LABEL_KEY,
                                    prediction_key=PREDICTION_KEY)],
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=[LABEL_KEY])],
        metrics_specs=[tfma.MetricsSpec(metrics=[
            tfma.MetricConfig(class_name="ExampleCount"),
            tfma.MetricConfig(class_name="SparseCategoricalAccuracy", per_slice_thresholds=[
                tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()], threshold=threshold)]),
        ])])


def trainer_custom_config(config, recipe, class_names):
    return {
        "recipe": to_dict(recipe),
        "recipe_path": config.recipe,
        "class_names": list(class_names),
        "tuner_trials": config.tuner_trials,
        "tuner_epochs": config.tuner_epochs,
        "strategy": config.trainer_strategy,
    }


def create_pipeline(config, class_names=None, image_shape=None, for_kubeflow=False, enable_cache=False):
    """Builds the TFX `Pipeline` described by `config` (a `PipelineConfig`).

    Args:
        config: `deeprob_pipeline.config.PipelineConfig` (paths absolute, see `resolved()`).
        class_names, image_shape: the data's; default: read from
            `<examples_dir>/info.json` written by `write_examples`.
        for_kubeflow: no local metadata connection; the Trainer requests the
            configured accelerator; paths under `kubeflow_pipeline_root`.
        enable_cache: reuse components whose inputs are unchanged (local
            runs turn it on to resume an unfinished run: `deeprob_pipeline.resume`).

    Returns:
        A `tfx.orchestration.pipeline.Pipeline`.

    Example:
        >>> pipeline = create_pipeline(load_pipeline_config())
        >>> LocalDagRunner().run(pipeline)
    """
    info = read_examples_info(config.examples_dir)
    if class_names is None or image_shape is None:
        if info is None:
            raise FileNotFoundError(
                f"no {os.path.join(config.examples_dir, 'info.json')}: write the examples first "
                "(deeprob_pipeline.examples.write_examples) or pass class_names and image_shape")
        class_names = class_names or info.class_names
        image_shape = image_shape or info.image_shape
    recipe = resolve_recipe(config)

    example_gen = ImportExampleGen(
        input_base=config.examples_dir,
        input_config=example_gen_pb2.Input(splits=[
            example_gen_pb2.Input.Split(name="train", pattern="train/*"),
            example_gen_pb2.Input.Split(name="eval", pattern="eval/*"),
        ]))
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"])
    if config.schema == "curated":
        root = (config.kubeflow_pipeline_root or config.pipeline_root) if for_kubeflow else config.pipeline_root
        schema_file = write_curated_schema(os.path.join(root, "curated_schema"),
                                           len(class_names), image_shape)
        schema_gen = ImportSchemaGen(schema_file=schema_file).with_id("SchemaGen")
    else:
        schema_gen = SchemaGen(statistics=statistics_gen.outputs["statistics"])
    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
    gate = AnomalyGate(anomalies=example_validator.outputs["anomalies"])

    custom_config = trainer_custom_config(config, recipe, class_names)
    components = [example_gen, statistics_gen, schema_gen, example_validator, gate]
    hyperparameters = None
    if config.enable_tuner:
        tuner = Tuner(
            examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
            tuner_fn=TUNER_FN, train_args=trainer_pb2.TrainArgs(), eval_args=trainer_pb2.EvalArgs(),
            custom_config=custom_config)
        tuner.add_upstream_node(gate)
        hyperparameters = tuner.outputs["best_hyperparameters"]
        components.append(tuner)
    trainer = Trainer(
        run_fn=RUN_FN, examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
        hyperparameters=hyperparameters, train_args=trainer_pb2.TrainArgs(), eval_args=trainer_pb2.EvalArgs(),
        custom_config=custom_config)
    trainer.add_upstream_node(gate)
    if for_kubeflow and config.trainer_accelerator_type and config.trainer_accelerator_count:
        trainer.with_platform_config(_accelerator_config(config))

    model_resolver = Resolver(
        strategy_class=LatestBlessedModelStrategy,
        model=Channel(type=standard_artifacts.Model),
        model_blessing=Channel(type=standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    evaluator = Evaluator(
        examples=example_gen.outputs["examples"], model=trainer.outputs["model"],
        baseline_model=model_resolver.outputs["model"], eval_config=eval_config(config))
    pusher = AtomicPusher(  # a version folder is complete or absent, even if killed mid-copy
        model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
        push_destination=pusher_pb2.PushDestination(
            filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=config.serving_dir))).with_id("Pusher")
    components += [trainer, model_resolver, evaluator, pusher]

    kwargs = {"beam_pipeline_args": list(config.beam_args)}
    if not for_kubeflow:
        kwargs["metadata_connection_config"] = sqlite_metadata_connection_config(
            config.metadata_path)
    return Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=(config.kubeflow_pipeline_root or config.pipeline_root) if for_kubeflow
        else config.pipeline_root,
        components=components, enable_cache=enable_cache, **kwargs)


def _accelerator_config(config):
    from kfp.pipeline_spec import pipeline_spec_pb2

    container_spec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec
    return container_spec.ResourceSpec(accelerator=container_spec.ResourceSpec.AcceleratorConfig(
        type=config.trainer_accelerator_type, count=config.trainer_accelerator_count))
