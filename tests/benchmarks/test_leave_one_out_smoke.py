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


def _tiny_recipe(path, name="tiny_fast"):
    path.write_text(f"name: {name}\ndata: {{dataset: digits}}\nmodel: {{widths: [4, 8]}}\n"
                    "schedule: {warmup_epochs: 0}\naugmentation: {flip: true, translate: 1}\n"
                    "training: {epochs: 1, batch_size: 64}\n")
    return str(path)


def _fake_runner(trained):
    def run_one(recipe_path, seed, work_dir, overrides, curve_every=1):
        trained.append((work_dir.rsplit("/", 1)[-1], seed))
        return {"recipe": recipe_path, "seed": seed, "final_test_accuracy": 0.9, "train_seconds": 1.0, "epochs": 1,
                "curve": [{"epoch": 1, "train_seconds": 1.0, "test_accuracy": 0.9}],
                "load_before": [0.0] * 3, "load_after": [0.0] * 3}
    return run_one


def test_only_trains_the_named_runs_and_the_report_keeps_the_whole_studys_command(tmp_path, monkeypatch):
    leave_one_out = _load()
    trained = []
    monkeypatch.setattr(leave_one_out, "run_one", _fake_runner(trained))
    monkeypatch.setattr(leave_one_out, "step_costs", lambda *a, **k: pytest.fail("a part run timed the arms"))
    recipe = _tiny_recipe(tmp_path / "tiny.yaml")
    study = ["--recipe", recipe, "--arms", "full", "no_flip", "no_translate", "--seeds", "0", "1", "--costs",
             "--out", str(tmp_path / "loo.md"), "--work-dir", str(tmp_path / "runs")]
    leave_one_out.main([*study, "--only", "no_flip:1", "full:0"])
    assert sorted(trained) == [("full", 0), ("no_flip", 1)]
    data = json.loads((tmp_path / "loo.json").read_text())
    assert data["command"] == ".venv/bin/python benchmarks/leave_one_out.py " + " ".join(study)
    assert "--only" not in (tmp_path / "loo.md").read_text()
    leave_one_out.main([*study, "--only", "no_flip:1", "no_translate:0"])  # no_flip:1 is done: only the other
    assert sorted(trained) == [("full", 0), ("no_flip", 1), ("no_translate", 0)]
    for bad in ("no_flip", "no_flip:7", "no_ema:0", "no_flip:x"):
        with pytest.raises(SystemExit):
            leave_one_out.main([*study, "--only", bad])


def test_a_json_of_another_recipes_study_is_refused_not_mixed(tmp_path, monkeypatch, capsys):
    leave_one_out = _load()
    monkeypatch.setattr(leave_one_out, "run_one", _fake_runner([]))
    out = ["--out", str(tmp_path / "loo.md"), "--work-dir", str(tmp_path / "runs"), "--seeds", "0",
           "--arms", "full"]
    leave_one_out.main(["--recipe", _tiny_recipe(tmp_path / "a.yaml", "a"), *out])
    before = (tmp_path / "loo.json").read_text()
    with pytest.raises(SystemExit) as raised:
        leave_one_out.main(["--recipe", _tiny_recipe(tmp_path / "b.yaml", "b"), *out])
    assert raised.value.code == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert "holds the study of" in message and "a.yaml" in message and "another --out" in message
    assert (tmp_path / "loo.json").read_text() == before
