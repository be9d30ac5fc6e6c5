"""The compiled Kubeflow V2 JSON: a valid PipelineSpec with every component, the image and the GPU request."""

import json

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

from deeprob_pipeline.config import load_pipeline_config
from deeprob_pipeline.examples import write_examples
from deeprob_pipeline.runners import compile_kubeflow

COMPONENTS = ["ImportExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "AnomalyGate",
              "Tuner", "Trainer", "Evaluator", "Pusher"]


def test_compiled_spec_holds_components_image_and_accelerator(tmp_path):
    write_examples(str(tmp_path / "data"), "digits", 50, 20, verbose=False)
    config = load_pipeline_config(overrides={
        "pipeline_root": str(tmp_path / "root"), "examples_dir": str(tmp_path / "data"),
        "kubeflow_image": "registry.example/deeprob:1", "trainer_accelerator_type": "NVIDIA_TESLA_V100",
        "trainer_accelerator_count": 2})
    path = compile_kubeflow(config, str(tmp_path / "kf" / "pipeline.json"))
    job = json.load(open(path))
    spec = json_format.ParseDict(job["pipelineSpec"], pipeline_spec_pb2.PipelineSpec(),
                                 ignore_unknown_fields=False)
    tasks = spec.root.dag.tasks
    for name in COMPONENTS:
        assert name in tasks, f"{name} missing from {sorted(tasks)}"
    assert any(name.startswith("latest_blessed_model_resolver") for name in tasks)
    # The gate runs before any training.
    assert "AnomalyGate" in tasks["Trainer"].dependent_tasks
    assert "AnomalyGate" in tasks["Tuner"].dependent_tasks
    deployment = json_format.ParseDict(json_format.MessageToDict(spec.deployment_spec),
                                       pipeline_spec_pb2.PipelineDeploymentConfig())
    images = {name: e.container.image for name, e in deployment.executors.items() if e.HasField("container")}
    assert images and set(images.values()) == {"registry.example/deeprob:1"}
    trainer = deployment.executors["Trainer_executor"]
    accelerator = trainer.container.resources.accelerator
    assert (accelerator.type, accelerator.count) == ("NVIDIA_TESLA_V100", 2)
    others = [e for n, e in deployment.executors.items() if n != "Trainer_executor" and e.HasField("container")]
    assert all(not e.container.resources.accelerator.type for e in others)
