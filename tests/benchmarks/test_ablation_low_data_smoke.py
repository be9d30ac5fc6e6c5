"""Smoke test of benchmarks/ablation_low_data.py: 5 images per class, 4 steps, tiny widths, 1 seed; no timing asserts.

On sklearn's digits (8x8, 360 test images): the code path is the same as Fashion-MNIST's and the
suite does not spend minutes evaluating 10,000 test images."""

import json

import pytest

from tests.benchmarks.loading import load_benchmark

TINY_RECIPE = ("name: tiny\ndata: {dataset: digits, validation_fraction: 0.1}\nmodel: {widths: [4, 8]}\n"
               "regularization: {penalty: l2, l2: 0.0001}\naugmentation: {flip: true}\n"
               "training: {epochs: 3, batch_size: 32}\n")


def _load():
    return load_benchmark("ablation_low_data")


@pytest.mark.slow
def test_subset_equal_steps_report_and_resume(tmp_path, capsys):
    bench = _load()
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(TINY_RECIPE)
    out = tmp_path / "results"
    argv = ["--recipe", str(recipe), "--per-class", "5", "--steps", "4", "--eval-every", "3", "--seeds", "1",
            "--arms", "baseline,dropout,flip+tta", "--out", str(out), "--work-dir", str(tmp_path / "runs")]
    assert bench.main(argv) == 0
    runs = json.loads((out / "ablation_low_data.json").read_text())["runs"]
    assert sorted(r["arm"] for r in runs) == ["baseline", "dropout", "flip"]
    for r in runs:
        assert r["class_counts"] == [5] * 10  # stratified: exactly k per class
        assert r["train_images"] == 50
        assert r["epochs"] == 2 and r["steps_planned"] == 4 and r["steps_run"] == 4  # 4 steps = 2 epochs of 2
        assert r["settings"]["epoch_steps"] == 2
        m = r["metrics"]
        assert 0.0 <= m["test_accuracy"] <= 1.0 and m["gap"] == pytest.approx(m["train_accuracy"] - m["val_accuracy"])
        assert r["curve"]["step"] == [2, 4] and len(r["curve"]["loss"]) == 2
    # the baseline has the recipe's regularizers off; the arm adds only its own
    flip = next(r for r in runs if r["arm"] == "flip")
    assert flip["overrides"] == {"augmentation.flip": True} and "val_accuracy" in flip["tta_metrics"]
    table = (out / "ablation_low_data.md").read_text()
    assert "## 5 images per class (50 training images)" in table
    assert f"Command of this size's last run: `.venv/bin/python benchmarks/ablation_low_data.py {' '.join(argv)}`" in table
    assert "| +flip, +flip TTA (the flip models) |" in table and "n/a (1 seed)" in table
    assert (out / "ablation_low_data.png").stat().st_size > 0
    capsys.readouterr()
    bench.main(argv)  # same settings: nothing is trained again
    assert capsys.readouterr().out.count("(from ablation_low_data.json)") == 3


def test_the_subset_comes_from_the_training_part_with_k_per_class():
    from deeprob_keras.data.pipelines import select_examples, split_validation
    import numpy as np

    labels = np.repeat(np.arange(4), 50)
    images = np.arange(len(labels))
    (x_tr, y_tr), (x_val, _) = split_validation(images, labels, 0.1, seed=3)
    x, y = select_examples(x_tr, y_tr, examples_per_class=7, seed=3)
    assert np.bincount(y).tolist() == [7] * 4
    assert not set(x.tolist()) & set(x_val.tolist())
    again, _ = select_examples(x_tr, y_tr, examples_per_class=7, seed=3)
    assert again.tolist() == x.tolist()  # deterministic for a seed


def test_epoch_steps_divide_the_budget():
    f = _load().epoch_steps_for
    assert f(1500, 100) == 100 and f(1500, 160) == 150 and f(7, 3) == 1 and f(4, 10) == 4


def _run(arm, seed, val, test=0.5, k=100):
    return {"arm": arm, "seed_index": seed, "per_class": k, "settings": {"s": 1}, "steps_run": 10, "wall_seconds": 1.0,
            "metrics": {"test_accuracy": test, "val_accuracy": val, "gap": 0.1},
            "tta_metrics": {"test_accuracy": test, "val_accuracy": val + 0.01, "gap": 0.1}}


def test_best_is_chosen_on_validation_with_exclusive_alternatives():
    bench = _load()
    runs = []
    for s, noise in enumerate((0.0, 0.001, -0.001)):
        runs += [_run("baseline", s, 0.70 + noise, test=0.9), _run("mixup", s, 0.75 + noise),
                 _run("cutmix", s, 0.76 + noise), _run("l2", s, 0.69 + noise, test=0.99),
                 _run("dropout", s, 0.72 + noise), _run("flip", s, 0.73 + noise)]
    parts, why = bench.best_combination(runs, 100, {"s": 1})
    # l2's high TEST accuracy does not matter; of mixup/cutmix the higher validation stays; flip+tta > flip
    assert parts == ["dropout", "cutmix", "flip", "flip_tta"] and "2 standard errors" in why
    rows = {r["arm"]: r for r in bench.summarize(runs, 100, {"s": 1})}
    assert rows["l2"]["d_val_accuracy"][2] == "hurts" and rows["mixup"]["d_val_accuracy"][2] == "beats"
    assert rows["l2"]["d_test_accuracy"][2] == "beats"
    overrides, info = bench.arm_overrides("best", runs, 100, {"s": 1})
    assert overrides["augmentation.tta"] == "flip" and overrides["augmentation.cutmix_alpha"] == 1.0
    assert "augmentation.mixup_alpha" not in overrides and info["parts"] == parts


def test_only_and_jobs():
    bench = _load()
    assert bench.parse_only("baseline:0,l2") == [("baseline", 0), ("l2", None)]
    jobs = bench.jobs_for(["baseline", "flip+tta", "best"], 2, [100, 500], bench.parse_only("flip+tta:1,best"))
    assert jobs == [(100, "flip", 1), (100, "best", 0), (100, "best", 1), (500, "flip", 1), (500, "best", 0),
                    (500, "best", 1)]


def test_agreement_with_the_lecture():
    agreement = _load().agreement
    assert agreement("l2", "beats") == "yes" and agreement("no_bn", "hurts") == "yes"
    assert agreement("no_bn", "beats") == "no" and agreement("mixup", "within noise") == "no difference measured"
    assert agreement("baseline", "") == "" and agreement("l2", "n/a (1 seed)") == ""


def test_merge_adds_the_parts_missing_runs_once():
    bench = _load()
    settings = {"steps": 4}

    def run(arm, seed, settings=settings):
        return {"per_class": 5, "arm": arm, "seed_index": seed, "settings": settings}

    data = {"runs": [run("baseline", 0), run("l2", 0)]}
    part_a = {"runs": [run("baseline", 1), run("l2", 0)]}  # l2:0 is already there
    part_b = {"runs": [run("baseline", 1), run("l2", 1), run("l2", 1, {"steps": 8})]}
    assert bench.merge_runs(data, [part_a, part_b]) == 3
    keys = sorted((r["arm"], r["seed_index"], r["settings"]["steps"]) for r in data["runs"])
    assert keys == [("baseline", 0, 4), ("baseline", 1, 4), ("l2", 0, 4), ("l2", 1, 4), ("l2", 1, 8)]
    assert bench.merge_runs(data, [part_a, part_b]) == 0
