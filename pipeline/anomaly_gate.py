"""`AnomalyGate`: a component that fails the run when ExampleValidator found anomalies.

TFX's ExampleValidator only records anomalies; the Tuner and the Trainer run
after this gate (`add_upstream_node`), so bad data stops the run before any
training, and the error names each anomaly.
"""

import glob
import os

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.decorators import component
from tfx.types.standard_artifacts import ExampleAnomalies


def read_anomalies(uri):
    """{split: Anomalies proto} from an ExampleAnomalies artifact folder (`Split-*/SchemaDiff.pb`)."""
    found = {}
    for path in sorted(glob.glob(os.path.join(uri, "Split-*", "SchemaDiff.pb"))):
        split = os.path.basename(os.path.dirname(path))[len("Split-"):]
        proto = anomalies_pb2.Anomalies()
        with open(path, "rb") as f:
            proto.ParseFromString(f.read())
        found[split] = proto
    return found


def describe_anomalies(found):
    """One line per anomaly: `split: feature: short description (description)`; [] when clean."""
    lines = []
    for split, proto in found.items():
        for feature, info in sorted(proto.anomaly_info.items()):
            lines.append(f"{split}: feature {feature!r}: {info.short_description} ({info.description})")
        if proto.HasField("dataset_anomaly_info"):
            info = proto.dataset_anomaly_info
            lines.append(f"{split}: dataset: {info.short_description} ({info.description})")
    return lines


class DataAnomaliesError(RuntimeError):
    """ExampleValidator found anomalies; training must not run."""


@component
def AnomalyGate(anomalies: InputArtifact[ExampleAnomalies]):
    """Raises `DataAnomaliesError` naming every anomaly; passes when there is none."""
    found = read_anomalies(anomalies.uri)
    if not found:
        raise DataAnomaliesError(f"no anomaly reports under {anomalies.uri}")
    lines = describe_anomalies(found)
    if lines:
        message = "ExampleValidator found anomalies; stopping before training:\n  " + "\n  ".join(lines)
        print("deeprob pipeline: " + message, flush=True)
        raise DataAnomaliesError(message)
    print(f"deeprob pipeline: no anomalies in splits {sorted(found)}", flush=True)
