"""Reading a local run back from ML Metadata (SQLite): executions per node, outputs."""

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from deeprob_pipeline.timings import execution_seconds


def open_store(metadata_path):
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return mlmd.MetadataStore(config)


def latest_run(store, pipeline_name):
    """The newest `pipeline_run` context of `pipeline_name` (or None)."""
    runs = store.get_contexts_by_type("pipeline_run")
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline is None:
        return None
    ours = {c.id for c in store.get_children_contexts_by_context(pipeline.id)} if runs else set()
    candidates = [c for c in runs if c.id in ours] or runs
    return max(candidates, key=lambda c: (c.create_time_since_epoch, c.id)) if candidates else None


def run_summary(metadata_path, pipeline_name):
    """What the newest run did: {"run", "executions": {node: [states]}, "seconds": {node: s},
    "artifacts": {type: [artifacts]}}.

    `executions` maps each node id (e.g. "Trainer") to the last known states of
    its executions in that run (e.g. ["COMPLETE"]); `seconds` to their wall time
    (`deeprob_pipeline.timings.execution_seconds`), in the order they started.
    """
    store = open_store(metadata_path)
    run = latest_run(store, pipeline_name)
    if run is None:
        return {"run": None, "executions": {}, "seconds": {}, "artifacts": {}}
    executions = store.get_executions_by_context(run.id)
    ids = {e.id for e in executions}
    by_node = {}
    prefix = pipeline_name + "."
    for node in store.get_contexts_by_type("node"):
        if not node.name.startswith(prefix):
            continue
        mine = [e for e in store.get_executions_by_context(node.id) if e.id in ids]
        if mine:
            by_node[node.name[len(prefix):]] = mine
    by_node = dict(sorted(by_node.items(), key=lambda kv: min(e.create_time_since_epoch for e in kv[1])))
    artifacts = {}
    types = {t.id: t.name for t in store.get_artifact_types()}
    for artifact in store.get_artifacts_by_context(run.id):
        artifacts.setdefault(types[artifact.type_id], []).append(artifact)
    states = {node: [metadata_store_pb2.Execution.State.Name(e.last_known_state) for e in mine]
              for node, mine in by_node.items()}
    return {"run": run.name, "executions": states, "seconds": execution_seconds(by_node), "artifacts": artifacts}


def custom_property(artifact, key):
    if key not in artifact.custom_properties:
        return None
    value = artifact.custom_properties[key]
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind else None
