"""The run report's wall-time table: component seconds from ML Metadata executions, the steps outside
the components, shares of the total; read back from a real (SQLite) metadata store; printed and saved
as JSON. No timing is asserted, only how the table is built."""

import json
import os
import subprocess
import sys
import time
from types import SimpleNamespace

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from deeprob_pipeline.metadata import run_summary
from deeprob_pipeline.runners import RunReport, print_report, write_report
from deeprob_pipeline.timings import (OTHER, OUTSIDE_COMPONENTS, execution_seconds, format_rows, process_start_time,
                                      wall_time_rows)


def _execution(created_ms, updated_ms):
    e = metadata_store_pb2.Execution()
    e.create_time_since_epoch = created_ms
    e.last_update_time_since_epoch = updated_ms
    return e


def test_execution_seconds_is_last_update_minus_creation_summed_per_node():
    seconds = execution_seconds({
        "ImportExampleGen": [_execution(1_000, 3_500)],
        "Trainer": [_execution(10_000, 70_000), _execution(80_000, 81_000)],  # e.g. failed, then rerun
        "latest_blessed_model_resolver": [_execution(0, 0)],  # times missing
    })
    assert seconds == {"ImportExampleGen": 2.5, "Trainer": 61.0, "latest_blessed_model_resolver": 0.0}
    assert list(seconds) == ["ImportExampleGen", "Trainer", "latest_blessed_model_resolver"]


def test_rows_add_up_to_the_total_with_the_gaps_named():
    rows = wall_time_rows({"backbone": 30.0, "examples": 10.0}, {"StatisticsGen": 20.0, "Trainer": 100.0},
                          pipeline_seconds=150.0, total_seconds=200.0)
    assert [r["step"] for r in rows] == ["backbone", "examples", "StatisticsGen", "Trainer", OUTSIDE_COMPONENTS,
                                         OTHER]
    assert [r["seconds"] for r in rows] == [30.0, 10.0, 20.0, 100.0, 30.0, 10.0]
    assert [r["share"] for r in rows] == [0.15, 0.05, 0.1, 0.5, 0.15, 0.05]
    assert sum(r["seconds"] for r in rows) == 200.0


def test_rows_without_a_pipeline_run_or_total():
    rows = wall_time_rows({"backbone": 5.0}, {}, pipeline_seconds=None, total_seconds=0.0)
    assert [(r["step"], r["seconds"], r["share"]) for r in rows] == [("backbone", 5.0, 0.0), (OTHER, 0.0, 0.0)]


def test_format_rows_prints_seconds_and_percent_share():
    rows = wall_time_rows({}, {"Trainer": 75.0}, pipeline_seconds=80.0, total_seconds=100.0)
    lines = format_rows(rows, 100.0, {"Trainer": ["COMPLETE"]})
    assert lines[0].split() == ["step", "state", "seconds", "share"]
    assert lines[1].split() == ["Trainer", "COMPLETE", "75.0", "75.0%"]
    assert lines[2].split() == ["(between", "components)", "5.0", "5.0%"]
    assert lines[3].split() == ["(other)", "20.0", "20.0%"]
    assert lines[-1].split() == ["total", "100.0", "100.0%"]


def _store(path):
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    return mlmd.MetadataStore(config)


def _context_type(store, name):
    t = metadata_store_pb2.ContextType(name=name)
    return store.put_context_type(t)


def test_run_summary_reads_seconds_per_node_of_the_newest_run_in_start_order(tmp_path):
    path = str(tmp_path / "metadata.sqlite")
    store = _store(path)
    pipeline_t, run_t, node_t = (_context_type(store, n) for n in ("pipeline", "pipeline_run", "node"))
    exec_t = store.put_execution_type(metadata_store_pb2.ExecutionType(name="Component"))
    [pipeline, run, trainer, gen] = store.put_contexts([
        metadata_store_pb2.Context(type_id=pipeline_t, name="p"),
        metadata_store_pb2.Context(type_id=run_t, name="run-1"),
        metadata_store_pb2.Context(type_id=node_t, name="p.Trainer"),
        metadata_store_pb2.Context(type_id=node_t, name="p.ImportExampleGen")])
    store.put_parent_contexts([metadata_store_pb2.ParentContext(child_id=run, parent_id=pipeline)])
    # Registered in pipeline order: ImportExampleGen first, then the Trainer.
    for node in (gen, trainer):
        [eid] = store.put_executions([metadata_store_pb2.Execution(
            type_id=exec_t, last_known_state=metadata_store_pb2.Execution.RUNNING)])
        done = store.get_executions_by_id([eid])[0]
        done.last_known_state = metadata_store_pb2.Execution.COMPLETE
        store.put_executions([done])
        store.put_attributions_and_associations([], [
            metadata_store_pb2.Association(context_id=c, execution_id=eid) for c in (run, node)])
    del store
    summary = run_summary(path, "p")
    assert summary["run"] == "run-1"
    assert list(summary["executions"]) == ["ImportExampleGen", "Trainer"]
    assert summary["executions"]["Trainer"] == ["COMPLETE"]
    assert list(summary["seconds"]) == ["ImportExampleGen", "Trainer"]
    assert all(s >= 0.0 for s in summary["seconds"].values())


def _report(tmp_path):
    report = RunReport(run="run-1", executions={"Trainer": ["COMPLETE"]}, blessed=True, pushed_dir=None,
                       evaluation_dir=None, model_dir="m", model_run_dir="r",
                       metadata_path=str(tmp_path / "metadata.sqlite"), seconds=100.0,
                       component_seconds={"Trainer": 60.0})
    report.wall_time = wall_time_rows({"examples": 10.0}, report.component_seconds, 85.0, 100.0)
    return report


def test_report_json_holds_the_table(tmp_path):
    report = _report(tmp_path)
    path = write_report(report, str(tmp_path / "run_report.json"))
    with open(path) as f:
        saved = json.load(f)
    assert saved["succeeded"] is True and saved["seconds"] == 100.0
    assert saved["component_seconds"] == {"Trainer": 60.0}
    assert [(r["step"], r["seconds"]) for r in saved["wall_time"]] == [
        ("examples", 10.0), ("Trainer", 60.0), (OUTSIDE_COMPONENTS, 25.0), (OTHER, 5.0)]


def test_printed_report_shows_the_table(tmp_path, capsys):
    report = _report(tmp_path)
    report.report_path = str(tmp_path / "run_report.json")
    print_report(report)
    out = capsys.readouterr().out
    trainer = [line for line in out.splitlines() if line.split()[:1] == ["Trainer"]]
    assert len(trainer) == 1 and trainer[0].split()[1:] == ["COMPLETE", "60.0", "60.0%"]
    assert [line.split()[0] for line in out.splitlines() if line.endswith("%")] == [
        "examples", "Trainer", "(between", "(other)", "total"]
    assert out.rstrip().splitlines()[-1].split() == ["run", "report:", report.report_path]


def test_process_start_time_is_when_the_process_started_not_when_asked():
    # A child process that sleeps 2 s before asking: the start time is ~2 s before its clock, not now.
    code = ("import time; time.sleep(2.0); from deeprob_pipeline.timings import process_start_time; "
            "print(time.time() - process_start_time())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"}).stdout
    assert 1.0 <= float(out.strip().splitlines()[-1]) < 60.0  # psutil's start time is to ~1 s (boot time)


def test_process_start_time_is_none_without_psutil(monkeypatch):
    monkeypatch.setitem(sys.modules, "psutil", None)  # import psutil raises ImportError
    assert process_start_time() is None


def test_pipeline_run_command_passes_the_process_start_to_the_run(monkeypatch):
    import deeprob_pipeline.cli as cli
    import deeprob_pipeline.runners as runners

    seen = {}

    def fake_run_local(config, **kwargs):
        seen.update(kwargs)
        return SimpleNamespace(succeeded=True)

    monkeypatch.setattr(runners, "run_local", fake_run_local)
    assert cli.cmd_run(SimpleNamespace(config=None, beam_arg=None)) == 0
    assert seen["process_started"] is not None and 0 < seen["process_started"] <= time.time()
