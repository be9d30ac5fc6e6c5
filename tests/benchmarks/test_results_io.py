"""The benchmarks' result files are replaced whole or not at all: a resumable study's JSON holds
hours of finished runs, rewritten after every run."""

import ast
import glob
import json
import os

import pytest

from tests.benchmarks.loading import ROOT, load_benchmark

results_io = load_benchmark("results_io")


def _leftovers(folder):
    return sorted(n for n in os.listdir(folder) if ".tmp" in n)


def test_write_json_round_trip_creates_the_folder(tmp_path):
    path = tmp_path / "results" / "study.json"
    assert results_io.write_json(str(path), {"runs": [{"seed": 0, "acc": 0.95}]}) == str(path)
    assert results_io.read_json(str(path)) == {"runs": [{"seed": 0, "acc": 0.95}]}
    assert results_io.read_json(str(tmp_path / "absent.json"), {"runs": []}) == {"runs": []}
    assert _leftovers(path.parent) == []


def test_json_beside_the_report():
    assert results_io.json_beside("benchmarks/results/time_to_accuracy.md") == "benchmarks/results/time_to_accuracy.json"


def test_unserializable_data_leaves_the_previous_file(tmp_path):
    path = str(tmp_path / "study.json")
    results_io.write_json(path, {"runs": [1, 2]})
    with pytest.raises(TypeError):
        results_io.write_json(path, {"runs": [1, 2, object()]})
    assert results_io.read_json(path) == {"runs": [1, 2]}
    assert _leftovers(tmp_path) == []


def test_a_kill_during_the_write_leaves_the_previous_file(tmp_path, monkeypatch):
    path = str(tmp_path / "study.json")
    results_io.write_json(path, {"runs": [1, 2]})

    def interrupted(fd):  # Ctrl-C (or a full disk) after part of the new text is written
        raise KeyboardInterrupt

    monkeypatch.setattr(results_io.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        results_io.write_json(path, {"runs": list(range(10_000))})
    with open(path) as f:
        assert json.load(f) == {"runs": [1, 2]}
    assert _leftovers(tmp_path) == []


def test_text_replaces_the_whole_file(tmp_path):
    path = str(tmp_path / "report.md")
    results_io.write_text(path, "a long first report\n" * 50)
    results_io.write_text(path, "short\n")
    with open(path) as f:
        assert f.read() == "short\n"


def test_no_benchmark_writes_json_in_place():
    """Every benchmark's JSON goes through results_io (json.dump into an open file is the in-place write)."""
    offenders = []
    for script in sorted(glob.glob(os.path.join(ROOT, "benchmarks", "*.py"))):
        if os.path.basename(script) == "results_io.py":
            continue
        with open(script) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "dump"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "json"):
                offenders.append(f"{os.path.basename(script)}:{node.lineno}")
    assert offenders == []
