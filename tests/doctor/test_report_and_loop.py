import json
import os

import pytest

from deeprob_keras.cli import build_parser
from deeprob_keras.doctor import Verdict
from deeprob_keras.doctor.doctor import Budget, next_candidate
from deeprob_keras.doctor.report import write_report
from deeprob_keras.recipe import load_recipe, with_overrides


def test_next_candidate_applies_the_diagnosis(tiny_recipe):
    values = {"optimizer.learning_rate": 0.3, "regularization.l2": 0.0}
    v, epochs, _ = next_candidate(values, 3, ["overfitting"], tiny_recipe)
    assert v["regularization.l2"] == 1e-4 and epochs == 3
    v, _, _ = next_candidate({**values, "regularization.l2": 1e-4}, 3, ["overfitting"], tiny_recipe)
    assert v["regularization.l2"] == pytest.approx(1e-3)
    v, _, _ = next_candidate(values, 3, ["diverging"], tiny_recipe)
    assert v["optimizer.learning_rate"] == pytest.approx(0.1)
    v, _, _ = next_candidate(values, 3, ["unstable_validation"], tiny_recipe)
    assert v["optimizer.learning_rate"] == pytest.approx(0.1)
    assert next_candidate(values, 3, ["underfitting"], tiny_recipe)[1] == 6
    with pytest.raises(ValueError, match="budget_minutes"):
        Budget(0)


def test_report_lists_verdicts_table_and_writes_a_loadable_recipe(tiny_recipe, tmp_path):
    png = tmp_path / "step3.png"
    png.write_bytes(b"\x89PNG")
    table = [{"trial": 1, "values": {"optimizer.learning_rate": 0.02}, "val_accuracy": 0.8, "val_loss": 0.5,
              "seconds": 3.0}]
    verdicts = [Verdict(1, "initial loss", True, {"initial_loss": 2.3}, "ok"),
                Verdict(3, "learning-rate sweep", False, {"losses": list(range(100))}, "flat", "too low",
                        [str(png)]),
                Verdict(4, "coarse random search", True, {"table": table}, "best 0.8")]
    proposed = with_overrides(tiny_recipe, {"optimizer.learning_rate": 0.02})
    paths = write_report(str(tmp_path), tiny_recipe, verdicts, {"optimizer.learning_rate": 0.02}, proposed)
    text = open(paths["report"]).read()
    assert "**FAIL**" in text and "Likely cause: too low" in text and "![learning-rate sweep](step3.png)" in text
    assert "| 1 | 0.02 | 0.8 | 0.5 | 3 |" in text
    assert load_recipe(paths["recipe"]).optimizer.learning_rate == 0.02
    data = json.load(open(paths["json"]))
    assert "losses" not in data["verdicts"][1]["measured"]


def test_cli_commands_parse():
    parser = build_parser()
    a = parser.parse_args(["doctor", "r.yaml", "--budget", "5", "--out", "o"])
    assert (a.budget, a.out, a.search) == (5.0, "o", "random")
    a = parser.parse_args(["tune", "r.yaml", "--search", "grid", "--trials", "3", "--epochs", "1"])
    assert (a.search, a.trials, a.epochs) == ("grid", 3, 1)
    assert parser.parse_args(["lr-find", "r.yaml", "--out", "x"]).out == "x"


@pytest.mark.long  # over a minute: `make test-long`
def test_run_doctor_end_to_end_tiny(tiny_recipe, tmp_path, capsys):
    from deeprob_keras.doctor import run_doctor

    recipe = with_overrides(tiny_recipe, {"data.limit_examples": 300, "data.validation_fraction": 0.01})
    result = run_doctor(recipe, str(tmp_path / "report"), budget_minutes=0.5, trials=2, search_epochs=1,
                        overfit_batches=2, sweep_iterations=10, range_steps=20, runs_dir=str(tmp_path / "runs"))
    out = capsys.readouterr().out
    for step in range(1, 8):
        assert f"[step {step}]" in out
    assert f"report:          {result['paths']['report']}" in out
    assert [v.step for v in result["verdicts"]] == [1, 2, 3, 3, 4, 5, 6, 7]
    assert load_recipe(result["paths"]["recipe"]).optimizer.learning_rate == pytest.approx(
        result["chosen"]["optimizer.learning_rate"])
    for name in ("step2_overfit.png", "step3_lr_sweep.png", "step3_lr_range_test.png", "step6_curves.png"):
        assert os.path.exists(tmp_path / "report" / name)


@pytest.mark.slow
def test_lr_find_cli(tmp_path, capsys):
    from deeprob_keras.cli import main
    from deeprob_keras.recipe import save_recipe, Recipe

    path = save_recipe(with_overrides(Recipe(), {"data.limit_examples": 300, "model.widths": [8],
                                                  "training.batch_size": 32}), str(tmp_path / "r.yaml"))
    assert main(["lr-find", path, "--steps", "20", "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "suggested learning rate:" in out
    assert (tmp_path / "o" / "lr_range_test.png").exists()
