"""benchmarks/pipeline_wall_time.py: the pipeline/plain ratio and the per-component table, built from a
run report and timed commands (stubs: nothing runs, no timing is measured)."""

from tests.benchmarks.loading import load_benchmark

bench = load_benchmark("pipeline_wall_time")


def _step(command, seconds, returncode=0):
    return {"command": command, "returncode": returncode, "seconds": seconds, "load_before": 0.5,
            "load_after": 1.0, "log": "x.log"}


REPORT = {
    "seconds": 200.0,
    "executions": {"StatisticsGen": ["COMPLETE"], "Trainer": ["COMPLETE"]},
    "wall_time": [
        {"step": "backbone", "seconds": 40.0, "share": 0.2},
        {"step": "examples", "seconds": 10.0, "share": 0.05},
        {"step": "StatisticsGen", "seconds": 20.0, "share": 0.1},
        {"step": "Trainer", "seconds": 100.0, "share": 0.5},
        {"step": "(between components)", "seconds": 25.0, "share": 0.125},
        {"step": "(other)", "seconds": 5.0, "share": 0.025},
    ],
}


def test_ratio_leaves_out_the_backbone_pretraining():
    c = bench.compare(_step("deeprob pipeline run", 210.0), REPORT, _step("deeprob train", 85.0))
    assert c["backbone_seconds"] == 40.0 and c["pipeline_seconds"] == 170.0 and c["plain_seconds"] == 85.0
    assert c["ratio"] == 2.0
    assert c["trainer_seconds"] == 100.0 and abs(c["trainer_ratio"] - 100 / 85) < 1e-12


def test_break_even_is_where_the_fixed_part_shrinks_to_the_goal():
    # pipeline = 1.1 T + 60 s: within 1.3x from T = 60 / 0.2 = 300 s, and exactly 1.3x there
    assert abs(bench.break_even(60.0, 1.1) - 300.0) < 1e-9
    assert abs((1.1 * 300.0 + 60.0) / 300.0 - 1.3) < 1e-12
    assert bench.break_even(60.0, 1.3) is None and bench.break_even(60.0, 1.5) is None
    assert bench.break_even(None, 1.1) is None and bench.break_even(60.0, None) is None
    c = bench.compare(_step("deeprob pipeline run", 210.0), REPORT, _step("deeprob train", 85.0))
    # 170 s without the backbone, of which the Trainer 100 s: 70 s fixed; the Trainer is 1.18x plain
    assert c["fixed_seconds"] == 70.0
    assert abs(c["break_even_plain_seconds"] - 70.0 / (1.3 - 100 / 85)) < 1e-9
    text = "\n".join(bench.report_lines([_step("deeprob pipeline run", 210.0), _step("deeprob train", 85.0)],
                                        REPORT, c))
    assert f"predicted within 1.3x for a plain training of {70.0 / (1.3 - 100 / 85):.0f} s" in text
    slow = bench.compare(_step("p", 210.0), REPORT, _step("t", 70.0))  # the Trainer alone 1.43x
    assert slow["break_even_plain_seconds"] is None
    assert "predicted never within 1.3x" in "\n".join(bench.report_lines([_step("p", 210.0), _step("t", 70.0)], REPORT, slow))


def test_no_ratio_when_plain_training_failed_or_did_not_run():
    assert bench.compare(_step("p", 210.0), REPORT, _step("t", 5.0, returncode=2))["ratio"] is None
    assert bench.compare(_step("p", 210.0, returncode=1), None, None)["ratio"] is None


def test_report_shows_ratio_verdict_and_every_component_row():
    steps = [_step("deeprob pipeline run", 210.0), _step("deeprob train", 85.0)]
    lines = bench.report_lines(steps, REPORT, bench.compare(steps[0], REPORT, steps[1]),
                               plain_metrics={"test_accuracy": 0.95})
    text = "\n".join(lines)
    assert "**Pipeline / plain training: 2.00x** (above the 1.3x goal)" in text
    assert "| Trainer | COMPLETE | 100.0 | 50.0% |" in lines
    assert "| (between components) |  | 25.0 | 12.5% |" in lines
    assert "| total | | 200.0 | 100% |" in lines
    assert "test accuracy 0.9500" in text
    fast = bench.compare(steps[0], REPORT, _step("deeprob train", 150.0))
    assert "(within the 1.3x goal)" in "\n".join(bench.report_lines(steps, REPORT, fast))


def test_examples_per_class_config_trains_both_runs_on_that_many_and_evaluates_on_the_whole_test_split(tmp_path):
    from deeprob_pipeline.config import load_pipeline_config, resolve_recipe

    path = tmp_path / "pipeline.yaml"
    path.write_text(bench.config_text(tuner=False, examples_per_class=6000))
    config = load_pipeline_config(str(path))
    assert config.enable_tuner is False
    assert config.max_train_examples is None and config.max_eval_examples is None
    # The plain run trains the recipe resolved from this config: the same examples per class.
    assert resolve_recipe(config).data.examples_per_class == 6000
    default = tmp_path / "default.yaml"
    default.write_text(bench.config_text(tuner=True))
    assert resolve_recipe(load_pipeline_config(str(default))).data.examples_per_class == 2000


def test_epochs_scale_trains_both_runs_k_times_each_phase(tmp_path):
    from deeprob_pipeline.config import load_pipeline_config, resolve_recipe

    path = tmp_path / "pipeline.yaml"
    path.write_text(bench.config_text(tuner=False, examples_per_class=6000, epochs_scale=3))
    recipe = resolve_recipe(load_pipeline_config(str(path)))
    default = resolve_recipe(load_pipeline_config())
    assert recipe.training.epochs == 3 * default.training.epochs
    assert recipe.transfer.feature_extraction_epochs == 3 * default.transfer.feature_extraction_epochs
    assert recipe.data.examples_per_class == 6000
    assert bench.config_text(tuner=False, epochs_scale=1) == bench.config_text(tuner=False)
    command = bench.command_line(examples_per_class=6000, epochs_scale=3)
    assert command.endswith("--examples-per-class 6000 --epochs-scale 3")
    steps = [_step("deeprob pipeline run", 210.0), _step("deeprob train", 85.0)]
    text = "\n".join(bench.report_lines(steps, REPORT, bench.compare(steps[0], REPORT, steps[1]),
                                        examples_per_class=6000, command=command, epochs_scale=3))
    assert "the whole test split of the classes; 3x the recipe's epochs." in text


def test_the_report_names_the_command_that_made_it():
    steps = [_step("deeprob pipeline run", 210.0), _step("deeprob train", 85.0)]
    command = bench.command_line(examples_per_class=6000, out="benchmarks/results/p6000.md")
    assert command == ".venv/bin/python benchmarks/pipeline_wall_time.py --examples-per-class 6000 " \
                      "--out benchmarks/results/p6000.md"
    text = "\n".join(bench.report_lines(steps, REPORT, bench.compare(steps[0], REPORT, steps[1]),
                                        examples_per_class=6000, command=command))
    assert f"Command: `{command}`" in text and "6,000 training examples per class" in text
    assert "Command: `.venv/bin/python benchmarks/pipeline_wall_time.py --tuner`" in "\n".join(
        bench.report_lines(steps, REPORT, bench.compare(steps[0], REPORT, steps[1]), tuner=True))


def test_report_only_rewrites_the_markdown_from_the_saved_json_without_running(tmp_path, capsys):
    import json

    out = tmp_path / "p.md"
    out.write_text("old wording")
    steps = [_step("deeprob pipeline run --config x", 210.0), _step("deeprob serve-check s", 20.0),
             _step("deeprob train r.yaml --out o", 85.0)]
    (tmp_path / "p.json").write_text(json.dumps({
        "steps": steps, "wall_time": REPORT["wall_time"], "served": None, "plain_metrics": {"test_accuracy": 0.95},
        "tuner": False, "examples_per_class": 6000, "epochs_scale": None, "command": "the command"}))
    # No run report kept in the work dir: the JSON's per-step times are enough (no states).
    assert bench.main(["--report-only", "--out", str(out), "--work-dir", str(tmp_path / "gone")]) == 0
    text = out.read_text()
    assert "**Pipeline / plain training: 2.00x**" in text and "predicted within 1.3x" in text
    assert "| Trainer |  | 100.0 |" in text and "| total | | 200.0 | 100% |" in text
    assert "Command: `the command`" in text and not (tmp_path / "gone").exists()
    assert bench.main(["--report-only", "--out", str(tmp_path / "none.md")]) == 2
    assert "no " in capsys.readouterr().err


PIPELINE_LOG = """Epoch 1/2
94/94 - 16s - 174ms/step - loss: 1.0
Epoch 2/2
94/94 - 12s - 127ms/step - loss: 0.9
deeprob pipeline: Trainer: 'x', 1 replica(s), transfer
422/422 - 12s - 30ms/step - accuracy: 0.8
422/422 - 10s - 20ms/step - accuracy: 0.8
422/422 - 21s - 50ms/step - accuracy: 0.9
422/422 - 11s - 26ms/step - accuracy: 0.9
422/422 - 60s - 1.2s/step - accuracy: 0.9
"""
PLAIN_LOG = """422/422 - 10s - 25ms/step - accuracy: 0.8
422/422 - 10s - 25ms/step - accuracy: 0.8
422/422 - 11s - 26ms/step - accuracy: 0.9
422/422 - 10s - 24ms/step - accuracy: 0.9
422/422 - 10s - 25ms/step - accuracy: 0.9
"""


def test_epoch_lines_are_read_in_order_in_ms_per_step():
    assert bench.epoch_ms_per_step(PIPELINE_LOG) == [174.0, 127.0, 30.0, 20.0, 50.0, 26.0, 1200.0]
    assert bench.epoch_ms_per_step("Epoch 1/2\nno step line\n") == []


def test_each_phase_compares_the_medians_of_its_last_epochs_leaving_out_the_backbones():
    rows = bench.epoch_comparison(PIPELINE_LOG, PLAIN_LOG, [("feature_extraction", 2), ("fine_tune", 3)])
    extraction, fine_tune = rows
    assert (extraction["phase"], extraction["epochs"]) == ("feature_extraction", 2)
    assert extraction["trainer_median_ms"] == 25.0 and extraction["plain_median_ms"] == 25.0   # 30, 20 / 25, 25
    # 50, 26, 1200: the median (50) is not moved by the one very slow epoch; plain 26, 24, 25 -> 25
    assert fine_tune["trainer_median_ms"] == 50.0 and fine_tune["ratio"] == 2.0
    # A log without the epochs (a failed run) gives no comparison.
    assert bench.epoch_comparison(PIPELINE_LOG, "", [("train", 5)]) is None
    lines = "\n".join(bench.report_lines([_step("deeprob pipeline run", 210.0)], REPORT,
                                         bench.compare(_step("deeprob pipeline run", 210.0), REPORT,
                                                       _step("deeprob train", 85.0)), epochs=rows))
    assert "| fine_tune | 3 | 50 ms | 25 ms | 2.00x |" in lines


def test_report_only_adds_the_epoch_table_from_the_work_dirs_logs_and_keeps_it(tmp_path):
    import json

    from deeprob_keras.recipe import Recipe, save_recipe, with_overrides

    work = tmp_path / "work"
    work.mkdir()
    save_recipe(with_overrides(Recipe(), {"model.name": "backbone", "training.epochs": 3, "transfer": {
        "backbone": "x.keras", "mode": "two_phase", "feature_extraction_epochs": 2}}), str(work / "recipe.yaml"))
    (work / "pipeline.log").write_text(PIPELINE_LOG)
    (work / "plain.log").write_text(PLAIN_LOG)
    assert bench.phases_of(str(work / "recipe.yaml")) == [("feature_extraction", 2), ("fine_tune", 3)]
    steps = [_step("deeprob pipeline run --config x", 210.0), _step("deeprob train r.yaml --out o", 85.0)]
    (tmp_path / "p.json").write_text(json.dumps({"steps": steps, "wall_time": REPORT["wall_time"]}))
    assert bench.main(["--report-only", "--out", str(tmp_path / "p.md"), "--work-dir", str(work)]) == 0
    assert "| fine_tune | 3 | 50 ms | 25 ms | 2.00x |" in (tmp_path / "p.md").read_text()
    assert json.loads((tmp_path / "p.json").read_text())["epochs"][1]["ratio"] == 2.0
    (work / "plain.log").unlink()
    assert bench.epochs_from_logs(str(work)) is None
