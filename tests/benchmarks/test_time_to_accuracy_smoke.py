"""Smoke test of benchmarks/time_to_accuracy.py: two tiny recipes, 2 epochs, 256 examples of sklearn's digits (8x8); no timing asserts."""

import json
import os

import pytest

from tests.benchmarks.loading import load_benchmark


def _load():
    return load_benchmark("time_to_accuracy")


def _recipe(path, name, tta, members=1, training=""):
    path.write_text(
        f"name: {name}\n"
        "data: {dataset: digits}\n"
        "model: {name: small_resnet, widths: [4, 8], blocks_per_stage: 1}\n"
        "schedule: {name: cosine, warmup_epochs: 0}\n"
        f"augmentation: {{flip: true, translate: 1, tta: {tta}}}\n"
        f"training: {{epochs: 2, batch_size: 64, ensemble_members: {members}{training}}}\n")
    return str(path)


def test_time_to_reach_picks_the_first_epoch_at_or_above_the_threshold():
    tta = _load()
    curve = [{"train_seconds": 10.0, "test_accuracy": 0.91}, {"train_seconds": 20.0, "test_accuracy": 0.93},
             {"train_seconds": 30.0, "test_accuracy": 0.92}]
    assert tta.time_to_reach(curve, 0.92) == 20.0
    assert tta.time_to_reach(curve, 0.93) == 20.0
    assert tta.time_to_reach(curve, 0.94) is None


def test_an_ensemble_reaches_a_threshold_at_its_averaged_end_not_only_on_its_members_curve():
    bench = _load()
    curve = [{"epoch": 1, "member": 0, "train_seconds": 10.0, "test_accuracy": 0.93},
             {"epoch": 1, "member": 1, "train_seconds": 20.0, "test_accuracy": 0.935}]
    base = {"seed": 0, "train_seconds": 20.0, "epochs": 2, "curve": curve, "parameters": 1,
            "train_flops_per_example": 1, "final_test_accuracy": 0.945}
    reach = bench.summarize([dict(base, name="pair", members=2)])["pair"]["reach"]
    assert reach["0.93"]["minutes"] == pytest.approx(10.0 / 60)  # a member's curve counts
    assert reach["0.94"]["minutes"] == pytest.approx(20.0 / 60)  # the average, at the end of training
    assert reach["0.95"]["reached"] == 0
    # A single model's final point is one of its epochs (the best validation one): the curve alone decides.
    single = bench.summarize([dict(base, name="one")])["one"]["reach"]
    assert single["0.94"]["reached"] == 0


def test_median_epoch_budget_ignores_a_stolen_epoch():
    bench = _load()
    curve = [{"epoch": i + 1, "train_seconds": t, "test_accuracy": 0.9}
             for i, t in enumerate([50.0, 100.0, 250.0, 300.0, 350.0])]
    assert bench.median_epoch_seconds(curve) == pytest.approx(50.0)  # the 150-s epoch does not move it
    runs = [{"name": "a", "seed": 0, "final_test_accuracy": 0.9, "train_seconds": 350.0, "epochs": 5,
             "curve": curve, "parameters": 1, "train_flops_per_example": 1}]
    summary = bench.summarize(runs)["a"]
    assert summary["median_epoch_minutes"] == pytest.approx(250.0 / 60)
    assert summary["train_minutes"] == pytest.approx(350.0 / 60)


def test_the_recorded_command_is_the_whole_study_not_the_part_run_with_only():
    bench = _load()
    prefix = ".venv/bin/python benchmarks/time_to_accuracy.py "
    assert bench.recorded_command(["--recipes", "a.yaml", "b.yaml", "--only", "a:1", "b:2", "--seeds", "0", "1"]) \
        == prefix + "--recipes a.yaml b.yaml --seeds 0 1"
    assert bench.recorded_command(["--only=a:1", "--out", "x.md"]) == prefix + "--out x.md"
    assert bench.recorded_command(["--seeds", "0", "--only", "a:0"]) == prefix + "--seeds 0"
    assert bench.recorded_command(["--seeds", "0", "--rerun", "a:0", "--why", "slow hour", "--out", "x.md"]) \
        == prefix + "--seeds 0 --out x.md"
    assert bench.recorded_command(["--rerun=a:0", "--why=slow", "--seeds", "1"]) == prefix + "--seeds 1"


@pytest.mark.slow
def test_two_recipes_side_by_side_write_table_plot_and_resume(tmp_path, capsys):
    bench = _load()
    recipes = [_recipe(tmp_path / "a.yaml", "tiny_default", "none"),
               _recipe(tmp_path / "b.yaml", "tiny_fast", "flip_translate"),
               _recipe(tmp_path / "c.yaml", "tiny_pair", "flip", members=2),
               _recipe(tmp_path / "d.yaml", "tiny_resize", "none",
                       training=", progressive_resize_min: 4, progressive_resize_epochs: 1")]
    out = tmp_path / "tta.md"
    argv = ["--recipes", *recipes, "--seeds", "0", "--limit-examples", "256", "--out", str(out),
            "--work-dir", str(tmp_path / "runs")]
    bench.main(argv)
    data = json.loads((tmp_path / "tta.json").read_text())
    assert [(r["name"], r["seed"]) for r in data["runs"]] == [("tiny_default", 0), ("tiny_fast", 0),
                                                               ("tiny_pair", 0), ("tiny_resize", 0)]
    *singles, pair, resized = data["runs"]
    for run in singles:
        assert [p["epoch"] for p in run["curve"]] == [1, 2] and [p["member"] for p in run["curve"]] == [0, 0]
    # An ensemble's members train one after the other: one curve, the member's index on each point, the time
    # running on across members, and each member's own test accuracy beside the averaged one.
    assert [(p["member"], p["epoch"]) for p in pair["curve"]] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    assert pair["members"] == 2 and len(pair["member_test_accuracy"]) == 2
    assert pair["train_seconds"] == pair["curve"][-1]["train_seconds"]
    for run in data["runs"]:
        times = [p["train_seconds"] for p in run["curve"]]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert 0.0 <= run["final_val_accuracy"] <= 1.0  # the exported model on validation: what chooses
        assert all(0.0 <= p["test_accuracy"] <= 1.0 for p in run["curve"])
        assert run["train_flops_per_example"] > 0 and len(run["load_before"]) == 3
        assert run["machine"]["precision"] in ("float32", "mixed_bfloat16") and run["machine"]["cpu"]
    table = out.read_text()
    assert f"| {data['runs'][0]['machine']['cpu']} (" in table  # the CPU each run trained on
    assert "| tiny_default | 1 |" in table and "| tiny_fast | 1 |" in table and "1.00x" in table
    assert "| tiny_pair (2 models) | 1 |" in table
    assert "| n/a (epochs differ in cost) | n/a |" in table.split("| tiny_resize | 1 |")[1].split("\n")[0]
    assert (tmp_path / "tta.png").stat().st_size > 0
    capsys.readouterr()
    bench.main(argv)  # a rerun with the same settings trains nothing
    assert "time_to_accuracy: tiny" not in capsys.readouterr().out
    assert len(json.loads((tmp_path / "tta.json").read_text())["runs"]) == 4
    # The steps timed side by side, in this process: nothing trains, the runs stay, the report gains the budget.
    bench.main(argv + ["--step-cost", "3", "1"])
    data = json.loads((tmp_path / "tta.json").read_text())
    assert len(data["runs"]) == 4 and "--step-cost" not in data["command"]
    [measured] = data["step_costs"]
    assert list(measured["recipes"]) == ["tiny_default", "tiny_fast", "tiny_pair", "tiny_resize"]
    assert [measured["recipes"][n]["epochs"] for n in measured["recipes"]] == [2, 2, 4, 2]  # the pair: 2 x 2
    resize = measured["recipes"]["tiny_resize"]  # also timed at the side its first epoch trains at
    assert resize["epoch_sides"] == [4, 8] and list(resize["seconds_per_step_at_side"]) == ["4"]
    assert all(r["seconds_per_step"] > 0 and len(r["rounds"]) == 1 for r in measured["recipes"].values())
    assert "## The budget by side-by-side step cost" in out.read_text()
    assert "| tiny_default | " in out.read_text().split("side-by-side step cost")[1]


def _fake_run(name, seed, overrides, accuracy):
    curve = [{"epoch": 1, "train_seconds": 60.0, "test_accuracy": accuracy}]
    return {"name": name, "seed": seed, "final_test_accuracy": accuracy, "train_seconds": 60.0, "epochs": 1,
            "curve": curve, "parameters": 10, "train_flops_per_example": 100, "train_examples": 256,
            "load_before": [0.1, 0.1, 0.1], "load_after": [0.2, 0.2, 0.2], "overrides": overrides}


def test_a_run_with_other_overrides_is_kept_in_the_json_and_left_out_of_the_report(tmp_path, monkeypatch):
    bench = _load()
    recipe = _recipe(tmp_path / "a.yaml", "tiny_default", "none")
    out = tmp_path / "tta.md"
    (tmp_path / "tta.json").write_text(json.dumps({"runs": [_fake_run("tiny_default", 0, {}, 0.5)]}))
    trained = []

    def fake_run_one(recipe_path, seed, work_dir, overrides, curve_every=1):
        trained.append((seed, overrides))
        return _fake_run("tiny_default", seed, overrides, 0.75)

    monkeypatch.setattr(bench, "run_one", fake_run_one)
    bench.main(["--recipes", recipe, "--seeds", "0", "--epochs", "18", "--out", str(out),
                "--work-dir", str(tmp_path / "runs")])
    assert trained == [(0, {"training.epochs": 18})]  # the plain run does not count as done for --epochs 18
    runs = json.loads((tmp_path / "tta.json").read_text())["runs"]
    assert sorted(r["final_test_accuracy"] for r in runs) == [0.5, 0.75]  # the plain run is not lost
    table = out.read_text()
    assert "| tiny_default | 1 | 0.7500" in table and "0.5000" not in table


def test_a_disturbed_run_is_trained_again_and_the_first_one_kept_with_why(tmp_path, monkeypatch, capsys):
    bench = _load()
    recipes = [_recipe(tmp_path / "a.yaml", "tiny_default", "none"), _recipe(tmp_path / "b.yaml", "tiny_fast", "none")]
    out, runs = tmp_path / "tta.md", tmp_path / "runs"
    first = [_fake_run("tiny_default", 0, {}, 0.5), _fake_run("tiny_fast", 0, {}, 0.6)]
    (tmp_path / "tta.json").write_text(json.dumps({"runs": first}))
    (runs / "tiny_fast_seed0").mkdir(parents=True)
    (runs / "tiny_fast_seed0" / "metrics.json").write_text("{}")
    trained = []

    def fake_run_one(recipe_path, seed, work_dir, overrides, curve_every=1):
        name = os.path.basename(recipe_path) == "b.yaml" and "tiny_fast" or "tiny_default"
        trained.append((name, seed))
        assert not os.path.exists(os.path.join(work_dir, f"{name}_seed{seed}"))  # from scratch
        return _fake_run(name, seed, overrides, 0.7)

    monkeypatch.setattr(bench, "run_one", fake_run_one)
    argv = ["--recipes", *recipes, "--seeds", "0", "1", "--out", str(out), "--work-dir", str(runs)]
    bench.main(argv + ["--rerun", "tiny_fast:0", "--why", "epochs 1.2x the median"])
    # only the named run trains (not the missing seed 1), its first run is kept with the reason
    assert trained == [("tiny_fast", 0)]
    data = json.loads((tmp_path / "tta.json").read_text())
    assert sorted((r["name"], r["final_test_accuracy"]) for r in data["runs"]) == [("tiny_default", 0.5),
                                                                                   ("tiny_fast", 0.7)]
    [replaced] = data["replaced"]
    assert (replaced["name"], replaced["final_test_accuracy"], replaced["why"]) == ("tiny_fast", 0.6,
                                                                                     "epochs 1.2x the median")
    assert (runs / "tiny_fast_seed0.replaced-1" / "metrics.json").exists()
    assert "--rerun" not in data["command"] and "--why" not in data["command"]
    table = out.read_text()
    assert "| tiny_fast | 1 | 0.7000" in table
    assert "| tiny_fast seed 0 | 0.6000 | 1.0 min | 60 s |" in table and "epochs 1.2x the median |" in table
    # a rerun without a reason, or a malformed NAME:SEED, is refused before anything trains
    for bad in (["--rerun", "tiny_fast:0"], ["--rerun", "tiny_fast:0", "--why", " "], ["--only", "tiny_fast"]):
        with pytest.raises(SystemExit) as exc:
            bench.main(argv + bad)
        assert exc.value.code == 2
    assert trained == [("tiny_fast", 0)]
    capsys.readouterr()


def _measurement(when, **ms_per_step):
    epochs = {"default": 25, "wide": 12, "pair": 26}
    return {"when": when, "steps": 40, "rounds": 3, "load_before": [1.0] * 3, "load_after": [2.0] * 3,
            "machine": {"cpu": "Some CPU"}, "overrides": {},
            "recipes": {n: {"seconds_per_step": ms / 1000, "rounds": [ms / 1000] * 3, "batch_size": 128,
                            "epochs": epochs[n]} for n, ms in ms_per_step.items()}}


def test_step_cost_budget_is_seconds_per_image_times_epochs_against_the_first_recipe():
    bench = _load()
    budgets = bench.step_cost_budgets(_measurement("t", default=100.0, wide=165.0, pair=150.0))
    assert budgets["default"] == pytest.approx(1.0)
    assert budgets["wide"] == pytest.approx(165 * 12 / (100 * 25))  # 0.79x
    assert budgets["pair"] == pytest.approx(150 * 26 / (100 * 25))  # an ensemble: both members' epochs
    # another batch size: the cost of an image, not of a step
    m = _measurement("t", default=100.0, wide=330.0)
    m["recipes"]["wide"]["batch_size"] = 256
    assert bench.step_cost_budgets(m)["wide"] == pytest.approx(165 * 12 / (100 * 25))
    # two measurements: the median budget, each one listed
    lines = "\n".join(bench.step_cost_lines([_measurement("t1", default=100.0, wide=165.0),
                                             _measurement("t2", default=120.0, wide=150.0)]))
    assert "| wide | 150.0 (128) | 12 | **0.70x** | 0.79x, 0.60x |" in lines
    assert "Measurement 2: t2, 3 rounds of 40 steps (the command below with `--step-cost 40 3`)" in lines
    assert bench.step_cost_lines([]) == []


def test_a_progressive_resizing_budget_costs_each_epoch_at_its_side():
    bench = _load()
    m = _measurement("t", default=100.0, wide=165.0)
    m["recipes"]["wide"].update(epochs=4, epoch_sides=[14, 21, 28, 28], seconds_per_step_at_side={"14": 0.05, "21": 0.1})
    assert bench.step_cost_budgets(m)["wide"] == pytest.approx((50 + 100 + 165 + 165) / (100 * 25))
    lines = "\n".join(bench.step_cost_lines([m]))
    assert "| wide | 165.0 (128); at the smaller sides 14: 50.0, 21: 100.0 | 4 |" in lines


def test_a_progressive_recipe_counts_its_mean_flops_and_has_no_median_epoch(tmp_path):
    bench = _load()
    path = tmp_path / "p.yaml"
    path.write_text("name: p\ndata: {dataset: fashion_mnist}\n"
                    "training: {epochs: 4, progressive_resize_min: 14, progressive_resize_epochs: 2}\n")
    curve = [{"epoch": i + 1, "train_seconds": 10.0 * (i + 1), "test_accuracy": 0.9} for i in range(4)]
    run = {"name": "p", "seed": 0, "final_test_accuracy": 0.9, "train_seconds": 40.0, "epochs": 4, "curve": curve,
           "parameters": 1, "train_flops_per_example": 1000, "recipe": os.path.relpath(path, bench.ROOT)}
    summary = bench.summarize([run])["p"]
    assert summary["epoch_sides"] == [14, 21, 28, 28]
    assert summary["median_epoch_minutes"] is None
    assert summary["train_flops_per_example"] == int(1000 * (0.25 + 0.5625 + 1 + 1) / 4)
    plain = dict(run, recipe=os.path.relpath(os.path.join(bench.ROOT, "recipes", "fashion_mnist.yaml"), bench.ROOT))
    assert bench.summarize([plain])["p"]["train_flops_per_example"] == 1000


def test_step_cost_trains_nothing_and_keeps_each_measurement(tmp_path, monkeypatch, capsys):
    bench = _load()
    recipes = [_recipe(tmp_path / "a.yaml", "tiny_default", "none"), _recipe(tmp_path / "b.yaml", "tiny_fast", "none")]
    out = tmp_path / "tta.md"
    (tmp_path / "tta.json").write_text(json.dumps({"runs": [_fake_run("tiny_default", 0, {}, 0.5)]}))
    monkeypatch.setattr(bench, "run_one", lambda *a: pytest.fail("--step-cost trained a run"))
    measured = []
    monkeypatch.setattr(bench, "measure_step_costs", lambda paths, steps, rounds, overrides: measured.append(
        (steps, rounds)) or dict(_measurement(f"t{len(measured)}", default=100.0, wide=165.0), overrides=overrides))
    argv = ["--recipes", *recipes, "--seeds", "0", "1", "--out", str(out), "--work-dir", str(tmp_path / "runs")]
    for _ in range(2):
        assert bench.main(argv + ["--step-cost", "40", "3"]) == 0
    data = json.loads((tmp_path / "tta.json").read_text())
    assert measured == [(40, 3), (40, 3)] and [m["when"] for m in data["step_costs"]] == ["t1", "t2"]
    assert len(data["runs"]) == 1 and "| wide | 165.0 (128) | 12 | **0.79x** | 0.79x, 0.79x |" in out.read_text()
    for bad in (["--step-cost", "0", "3"], ["--step-cost", "40"]):
        with pytest.raises(SystemExit) as exc:
            bench.main(argv + bad)
        assert exc.value.code == 2
    capsys.readouterr()


def test_an_overridden_run_trains_in_its_own_folder(tmp_path, monkeypatch):
    bench = _load()
    recipe = _recipe(tmp_path / "a.yaml", "tiny_default", "none")
    folders = []

    def fake_train_recipe(recipe, out_dir, **kwargs):
        folders.append(os.path.basename(out_dir))
        raise RuntimeError("stop here")

    import deeprob_keras.training.run as run_module

    monkeypatch.setattr(run_module, "train_recipe", fake_train_recipe)
    for overrides in ({}, {"training.epochs": 18}):
        with pytest.raises(RuntimeError, match="stop here"):
            bench.run_one(recipe, 0, str(tmp_path / "runs"), overrides)
    assert folders == ["tiny_default_seed0", "tiny_default_seed0_epochs18"]


def test_the_report_links_the_plot_written_beside_it(tmp_path):
    """`--out x/name.md` writes `x/name.png`: the report must show that plot, not the default file's."""
    bench = _load()
    data = {"runs": [_fake_run("a", 0, {}, 0.93)], "command": "cmd"}
    out = bench.write_report(data, str(tmp_path / "time_to_accuracy_other.md"))
    text = open(out).read()
    assert "](time_to_accuracy_other.png)" in text and "](time_to_accuracy.png)" not in text


def test_the_machine_cell_names_the_cpu_its_bfloat16_and_the_precision_or_says_not_recorded():
    bench = _load()
    intel = {"machine": {"cpu": "Intel Xeon", "features": ["avx2", "avx512f"], "precision": "float32"}}
    amd = {"machine": {"cpu": "AMD EPYC", "features": ["avx512_bf16"], "precision": "mixed_bfloat16"}}
    assert bench._machine_cell(intel) == "Intel Xeon (no bfloat16 instructions), float32"
    assert bench._machine_cell(amd) == "AMD EPYC (bfloat16 instructions), mixed_bfloat16"
    assert bench._machine_cell({}) == "not recorded"  # runs made before the field existed


def test_ratios_are_against_the_first_recipe_and_say_so_when_it_has_no_run(tmp_path, monkeypatch):
    bench = _load()
    default = _recipe(tmp_path / "a.yaml", "tiny_default", "none")
    fast = _recipe(tmp_path / "b.yaml", "tiny_fast", "none")
    out = tmp_path / "tta.md"
    monkeypatch.setattr(bench, "run_one",
                        lambda path, seed, work_dir, overrides, curve_every=1: _fake_run("tiny_fast", seed, {}, 0.7))
    plotted = []
    monkeypatch.setattr(bench, "write_plot", lambda runs, path, first=None: plotted.append(first))
    bench.main(["--recipes", default, fast, "--seeds", "0", "--only", "tiny_fast:0", "--out", str(out),
                "--work-dir", str(tmp_path / "runs")])
    row = next(line for line in out.read_text().splitlines() if line.startswith("| tiny_fast |"))
    assert row.count("no run of tiny_default") == 2 and "1.00x" not in row  # not a ratio against itself
    assert plotted and set(plotted) == {"tiny_default"}
    data = json.loads((tmp_path / "tta.json").read_text())
    data["runs"].append(dict(_fake_run("tiny_default", 0, {}, 0.6), train_seconds=30.0))
    (tmp_path / "tta.json").write_text(json.dumps(data))
    bench.main(["--recipes", default, fast, "--seeds", "0", "--out", str(out), "--work-dir", str(tmp_path / "runs")])
    row = next(line for line in out.read_text().splitlines() if line.startswith("| tiny_fast |"))
    assert "| 2.00x |" in row  # 60 s against the default's 30 s


def test_the_plot_draws_the_budget_of_the_named_first_recipe(tmp_path):
    bench = _load()
    runs = [_fake_run("tiny_fast", 0, {}, 0.7)]
    assert os.path.exists(bench.write_plot(runs, str(tmp_path / "a.png"), first="tiny_default"))  # no budget line
    assert os.path.exists(bench.write_plot(runs, str(tmp_path / "b.png")))


def test_curve_every_scores_every_nth_epoch_and_the_last_and_times_all(tmp_path):
    bench = _load()
    recipe = _recipe(tmp_path / "a.yaml", "tiny_sparse", "none", training="")
    out = tmp_path / "sparse.md"
    bench.main(["--recipes", recipe, "--seeds", "0", "--epochs", "3", "--limit-examples", "256", "--curve-every", "2",
                "--out", str(out), "--work-dir", str(tmp_path / "runs")])
    [run] = json.loads((tmp_path / "sparse.json").read_text())["runs"]
    assert [p["epoch"] for p in run["curve"]] == [1, 2, 3] and run["epochs"] == 3 and run["curve_every"] == 2
    scored = [p["test_accuracy"] is not None for p in run["curve"]]
    assert scored == [False, True, True]  # the 2nd, and the last
    assert bench.time_to_reach(run["curve"], 0.0) == run["curve"][1]["train_seconds"]
    assert "scored only every N epochs" in out.read_text() and "N = 2: tiny_sparse seed 0" in out.read_text()
    with pytest.raises(SystemExit):
        bench.main(["--recipes", recipe, "--curve-every", "0", "--out", str(out)])


def test_epochs_trained_but_never_timed_before_a_kill_are_estimated_not_dropped(tmp_path):
    """BackupAndRestore saves an epoch before the curve callback logs it: a kill in between resumes the run
    past an untimed epoch. Its time is counted as the epoch before it, marked `estimated`."""
    bench = _load()
    from deeprob_keras.recipe import load_recipe

    log = tmp_path / "test_curve.jsonl"
    log.write_text(json.dumps({"epoch": 1, "member": 0, "train_seconds": 10.0, "test_accuracy": 0.5}) + "\n"
                   + json.dumps({"epoch": 2, "member": 0, "train_seconds": 22.0, "test_accuracy": 0.6}) + "\n")
    callback = bench._test_curve_callback(load_recipe(_recipe(tmp_path / "a.yaml", "tiny", "none")), str(log))
    callback.on_epoch_begin(3)  # the backup holds 3 epochs: the 3rd was trained, never logged
    curve = bench._read_curve(str(log))
    assert [p["epoch"] for p in curve] == [1, 2, 3]
    assert curve[2]["estimated"] and curve[2]["train_seconds"] == pytest.approx(34.0)
    assert curve[2]["test_accuracy"] is None and callback.elapsed == pytest.approx(34.0)
    callback.on_epoch_begin(3)  # nothing more is missing
    assert len(bench._read_curve(str(log))) == 3
    runs = [dict(_fake_run("tiny", 0, {}, 0.7), curve=curve)]
    bench.write_report({"runs": runs, "first": "tiny", "command": "x"}, str(tmp_path / "tta.md"))
    assert "tiny seed 0 (1 epoch(s))" in (tmp_path / "tta.md").read_text()


def test_a_curve_line_cut_by_a_kill_is_dropped_and_the_log_stays_appendable(tmp_path):
    bench = _load()
    log = tmp_path / "test_curve.jsonl"
    log.write_text(json.dumps({"epoch": 1, "train_seconds": 10.0}) + "\n" + '{"epoch": 2, "train_sec')
    assert bench._read_curve(str(log)) == [{"epoch": 1, "train_seconds": 10.0}]
    with open(log, "a") as f:
        f.write(json.dumps({"epoch": 2, "train_seconds": 20.0}) + "\n")
    assert [p["epoch"] for p in bench._read_curve(str(log))] == [1, 2]
    log.write_text('{"epoch": 1, "tr\n' + json.dumps({"epoch": 2, "train_seconds": 20.0}) + "\n")
    with pytest.raises(ValueError, match="line 1 is not JSON"):
        bench._read_curve(str(log))
