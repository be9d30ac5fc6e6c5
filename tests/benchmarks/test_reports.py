"""The report writers of benchmarks/: run_all's RESULTS.md and the transfer benchmark's lecture-table check."""

import os

import pytest

from tests.benchmarks.loading import ROOT, load_benchmark as _load


def test_run_all_without_running_writes_every_benchmark_and_the_published_figures(tmp_path):
    run_all = _load("run_all")
    out = tmp_path / "RESULTS.md"
    assert run_all.main(["--budget", "full", "--no-run", "--out", str(out)]) == 0
    text = out.read_text()
    for name in run_all.commands("full"):
        assert f"### {name}" in text
    assert "Zalando README" in text and "## Machine" in text


def test_run_all_small_points_tta_modes_at_the_folder_time_to_accuracy_trains_in():
    run_all, bench = _load("run_all"), _load("time_to_accuracy")
    commands = run_all.commands("small")
    tta_args, tta_modes_args = commands["time_to_accuracy"][0], commands["tta_modes"][0]
    overrides = {"training.epochs": int(tta_args[tta_args.index("--epochs") + 1]),
                 "data.limit_examples": int(tta_args[tta_args.index("--limit-examples") + 1])}
    work_dir = tta_args[tta_args.index("--work-dir") + 1]
    model = tta_modes_args[tta_modes_args.index("--models") + 1]
    assert model == os.path.join(work_dir, bench.run_folder("fashion_mnist", 0, overrides), "model.keras")


def test_run_all_refuses_an_unknown_benchmark(capsys):
    run_all = _load("run_all")
    with pytest.raises(SystemExit):
        run_all.main(["--reuse", "ablatoin", "--no-run"])
    assert "unknown benchmarks ['ablatoin']" in capsys.readouterr().err


def _runs(accuracies, n_seeds=3, spread=0.0):
    """Runs of one cell as benchmarks/transfer.py records them: scratch once, the other arms per source."""
    probes = {"stage0": 0.5, "stage1": 0.6, "stage2": 0.7, "features": 0.7}
    runs = []
    for i in range(n_seeds):
        arms = {arm: acc + (i - 1) * spread for arm, acc in accuracies.items()}
        runs.append({"seed": i, "scratch": arms.pop("scratch"),
                     "backbones": {"strong": {**arms, "probes": probes}, "weak": {**arms, "probes": probes}}})
    return runs


def test_lecture_check_names_advice_best_arm_and_verdict():
    transfer = _load("transfer")
    base = {"scratch": 0.2, "feature extraction": 0.60, "fine-tune top": 0.55, "fine-tune all": 0.50,
            "best stage probe": 0.605}
    results = {"settings": {
        # 10/class, similar: the lecture says "linear classifier on top" = feature extraction, 0.005 behind: holds
        "Fashion-MNIST 5-9 (similar) @ 10": _runs(base),
        # 1000/class, similar: "fine-tune a few layers" = fine-tune top, 0.05 behind scratch: does not hold
        "Fashion-MNIST 5-9 (similar) @ 1000": _runs({**base, "scratch": 0.65}),
    }}
    rows = transfer.lecture_check(results)
    assert [r["choice"] for r in rows] == ["linear_top", "fine_tune_few"]
    assert rows[0]["verdict"] == "holds" and rows[0]["best_arm"] == "best stage probe"
    assert rows[1]["best_arm"] == "scratch" and rows[1]["verdict"] == "does not hold (-0.100)"
    assert rows[0]["measured"] == "similar"  # features probe 0.7 equals the best stage


def test_better_source_verdict_needs_two_standard_errors():
    transfer = _load("transfer")
    runs = _runs({"scratch": 0.5, "feature extraction": 0.70, "fine-tune top": 0.70, "fine-tune all": 0.70,
                  "best stage probe": 0.70}, spread=0.01)
    for i, r in enumerate(runs):
        r["backbones"]["weak"]["feature extraction"] = 0.60 + 0.01 * (i - 1)  # 0.10 behind: 10 standard errors
        r["backbones"]["weak"]["fine-tune all"] = 0.69 + 0.01 * (i - 1)  # 0.01 behind: 1.2 standard errors
    rows = {r["arm"]: r for r in transfer.better_source_rows({"settings": {"cell @ 10": runs}})}
    assert rows["feature extraction"]["verdict"] == "strong better"
    assert rows["feature extraction"]["gap"] == pytest.approx(0.10)
    assert rows["fine-tune all"]["verdict"] == "no difference"


@pytest.mark.parametrize("n_train, want", [(50, 300), (500, 300), (5000, 1580), (100000, 2000)])
def test_cell_steps_are_passes_over_the_data_within_bounds(n_train, want):
    # 20 passes at batch 64, clipped to [300, 2000], rounded up to a multiple of the curve's 10 points:
    # 5,000 images = 79 steps per pass -> 1,580.
    assert _load("transfer").cell_steps(n_train, 20, 300, 2000) == want


def test_default_recipe_row_reaches_the_published_table(tmp_path, monkeypatch):
    default_recipe, run_all = _load("default_recipe"), _load("run_all")
    runs = [{"seed": s, "test_accuracy": a, "epochs": 30, "train_seconds": 840.0, "seconds_per_epoch": 27.0,
             "wall_seconds": 900.0, "load_before": 1.0, "load_after": 1.2, "parameters": 78000}
            for s, a in ((0, 0.93), (1, 0.94))]
    data = {"recipe": "recipes/fashion_mnist.yaml", "runs": runs, "command": "python benchmarks/default_recipe.py"}
    md = default_recipe.write_report(data, str(tmp_path / "default_recipe.md"))
    assert "Test accuracy 0.9350 ± 0.0071 (sample std) over 2 seed(s); training 14.0 min" in open(md).read()
    (tmp_path / "default_recipe.json").write_text(__import__("json").dumps(data))
    monkeypatch.setattr(run_all, "RESULTS", str(tmp_path))
    row = run_all.our_rows()
    assert "**0.9350 ± 0.0071** (2 seed(s))" in row and "30 epochs, 14.0 min" in row and "78k params" in row
