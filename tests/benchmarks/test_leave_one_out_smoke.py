"""Smoke test of benchmarks/leave_one_out.py: tiny recipe on sklearn's digits (8x8), two arms, 1 epoch; no timing asserts."""

import json

import pytest

from tests.benchmarks.loading import load_benchmark


def _load():
    return load_benchmark("leave_one_out")


@pytest.mark.slow
def test_arms_worth_table_no_tta_derived_and_resume(tmp_path, capsys):
    leave_one_out = _load()

    recipe = tmp_path / "tiny_fast.yaml"
    recipe.write_text("name: tiny_fast\ndata: {dataset: digits}\nmodel: {widths: [4, 8]}\nschedule: {warmup_epochs: 0}\n"
                      "augmentation: {flip: true, translate: 1, tta: flip_translate}\n"
                      "training: {epochs: 1, batch_size: 64}\n")
    out = tmp_path / "loo.md"
    argv = ["--recipe", str(recipe), "--arms", "full", "no_translate", "no_ema", "--seeds", "0",
            "--limit-examples", "256", "--out", str(out), "--work-dir", str(tmp_path / "runs")]
    leave_one_out.main(argv)
    printed = capsys.readouterr().out
    assert "no_ema skipped: the recipe does not use EMA" in printed
    runs = json.loads((tmp_path / "loo.json").read_text())["runs"]
    assert sorted(r["arm"] for r in runs) == ["full", "no_translate"]
    table = out.read_text()
    assert "| no_translate (random translation) | 1 |" in table
    assert "| no_tta (test-time augmentation) | 1 |" in table  # derived from the full runs, not trained
    summary = leave_one_out.summarize(runs)
    assert summary["no_translate"]["worth"] == pytest.approx(
        summary["full"]["mean"] - summary["no_translate"]["mean"])
    assert (tmp_path / "loo.png").stat().st_size > 0
    assert "![leave-one-out](loo.png)" in table  # the plot this report wrote, not another study's
    leave_one_out.main(argv)
    assert capsys.readouterr().out.count("(from loo.json)") == 2
    # The cost column: every arm the recipe uses, timed side by side; nothing trained again.
    leave_one_out.main([*argv, "--costs-only", "--cost-steps", "2", "--cost-rounds", "1"])
    data = json.loads((tmp_path / "loo.json").read_text())
    assert sorted(r["arm"] for r in data["runs"]) == ["full", "no_translate"]
    per_step = data["step_costs"]["seconds_per_step"]
    # The tiny recipe has no label smoothing, warmup, EMA or bfloat16: those arms are not timed.
    assert set(per_step) == {"full", "no_translate", "no_flip", "default_widths"}
    assert all(t > 0 for t in per_step.values())
    table = out.read_text()
    cost = per_step["full"] / per_step["no_translate"]
    assert "| no_translate (random translation) | 1 |" in table and f"| {cost:.2f}x |" in table


def test_verdict_needs_two_standard_errors():
    summarize = _load().summarize

    def run(arm, acc):
        return {"arm": arm, "final_test_accuracy": acc, "train_seconds": 10.0, "epochs": 1}

    runs = [run("full", 0.940), run("full", 0.942), run("no_flip", 0.930), run("no_flip", 0.932),
            run("no_translate", 0.939), run("no_translate", 0.943)]
    s = summarize(runs)
    assert s["no_flip"]["verdict"] == "helps" and s["no_flip"]["worth"] == pytest.approx(0.010)
    assert s["no_translate"]["verdict"] == "no difference"


def test_full_arm_taken_from_a_time_to_accuracy_json(tmp_path):
    full_runs_from = _load().full_runs_from

    def run(recipe, seed, overrides=None):
        return {"recipe": recipe, "seed": seed, "overrides": overrides or {}, "final_test_accuracy": 0.9}

    source = tmp_path / "tta.json"
    source.write_text(json.dumps({"runs": [
        run("recipes/fast.yaml", 0), run("recipes/fast.yaml", 1), run("recipes/fast.yaml", 2, {"training.epochs": 1}),
        run("recipes/default.yaml", 2), run("recipes/fast.yaml", 5)]}))
    have = [{"arm": "full", "seed": 1}]
    taken = full_runs_from(str(source), "recipes/fast.yaml", [0, 1, 2], have, smoke={})
    assert [(r["arm"], r["seed"], r["from"]) for r in taken] == [("full", 0, "tta.json")]  # seed 1 kept, 2 overridden
    assert full_runs_from(str(source), "recipes/fast.yaml", [0], [], smoke={"training.epochs": 1}) == []
    with pytest.raises(SystemExit, match="no such file"):
        full_runs_from(str(tmp_path / "missing.json"), "recipes/fast.yaml", [0], [], smoke={})
