"""benchmarks/strategy_fresh_process.py: alternates `deeprob train --strategy default|mirrored` in fresh processes
and compares the median ms per step of each phase. Here `deeprob` is a stand-in script that prints Keras's
epoch lines (mirrored steps cost 1.5x), so the orchestration, the medians, the resume and the report are
checked without training; no timing asserts."""

import json
import os
import stat
import sys

import pytest

from tests.benchmarks.loading import load_benchmark

FAKE_DEEPROB = f"""#!{sys.executable}
import sys
args = sys.argv[1:]
strategy = args[args.index("--strategy") + 1]
with open(args[args.index("--out") + 1] + ".calls", "w") as f:
    f.write(" ".join(args))
for epoch in range(2):
    ms = (10 + epoch) * (1.5 if strategy == "mirrored" else 1.0)
    print(f"Epoch {{epoch + 1}}/2")
    print(f"50/50 - 1s - {{ms:g}}ms/step - accuracy: 0.5 - loss: 1.0")
"""


def _recipe(path):
    path.write_text("name: tiny\n"
                    "data: {dataset: digits}\n"
                    "model: {name: small_resnet, widths: [4, 8], blocks_per_stage: 1}\n"
                    "training: {epochs: 5, batch_size: 32}\n")
    return str(path)


def _fake(tmp_path):
    fake = tmp_path / "deeprob"
    fake.write_text(FAKE_DEEPROB)
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    return str(fake)


def test_phase_medians_split_the_epoch_lines_by_phase():
    bench = load_benchmark("strategy_fresh_process")
    log = "\n".join(f"10/10 - 1s - {ms}ms/step - loss: 1" for ms in (30, 10, 12, 20, 22, 40))
    assert bench.phase_medians(log, [("a", 3), ("b", 3)]) == {"a": 12, "b": 22}
    assert bench.phase_medians(log, [("a", 4), ("b", 3)]) is None  # a run cut short


def test_alternates_strategies_in_fresh_processes_and_resumes(tmp_path, monkeypatch, capsys):
    bench = load_benchmark("strategy_fresh_process")
    monkeypatch.setattr(bench, "DEEPROB", _fake(tmp_path))
    out, work = tmp_path / "r.md", tmp_path / "work"
    argv = ["--recipe", _recipe(tmp_path / "tiny.yaml"), "--epochs", "2", "--rounds", "2", "--limit-examples", "100",
            "--out", str(out), "--work-dir", str(work)]
    bench.main(argv)
    data = json.loads((tmp_path / "r.json").read_text())
    assert [r["strategy"] for r in data["runs"]] == ["default", "mirrored", "default", "mirrored"]
    calls = (work / "run_1_mirrored.calls").read_text()
    assert "--strategy mirrored" in calls and "--limit-examples 100" in calls
    [phase, wall] = data["rows"]
    assert phase["what"] == "train" and phase["ratio"] == pytest.approx(1.5)
    assert wall["what"] == "wall time (s)"
    # the shortened recipe is the one trained
    assert "epochs: 2" in (work / "recipe.yaml").read_text()
    text = out.read_text()
    assert "**1.50x**" in text and "Command: `.venv/bin/python benchmarks/strategy_fresh_process.py --recipe" in text
    # a rerun keeps the finished runs and trains nothing
    os.remove(work / "run_0_default.calls")
    bench.main(argv)
    assert not (work / "run_0_default.calls").exists()
    assert len(json.loads((tmp_path / "r.json").read_text())["runs"]) == 4


@pytest.mark.parametrize("flag, value", [("--rounds", "0"), ("--epochs", "0"), ("--limit-examples", "-3")])
def test_bad_settings_are_refused_in_one_line(tmp_path, capsys, flag, value):
    bench = load_benchmark("strategy_fresh_process")
    with pytest.raises(SystemExit) as info:
        bench.main(["--recipe", _recipe(tmp_path / "tiny.yaml"), flag, value, "--out", str(tmp_path / "r.md")])
    assert info.value.code == 2 and f"{flag} must be >= 1" in capsys.readouterr().err


def test_a_missing_recipe_is_refused(tmp_path, capsys):
    bench = load_benchmark("strategy_fresh_process")
    with pytest.raises(SystemExit):
        bench.main(["--recipe", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "r.md")])
    assert "no such file" in capsys.readouterr().err
