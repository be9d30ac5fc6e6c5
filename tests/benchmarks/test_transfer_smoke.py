"""Smoke test of benchmarks/transfer.py: two tiny sources, one digits cell at equal steps, then the same
command again (resumed, nothing retrained); no timing asserts."""

import json

import pytest

from tests.benchmarks.loading import load_benchmark


@pytest.mark.slow
@pytest.mark.long  # over a minute: `make test-long`
def test_equal_steps_two_sources_report_and_resume(tmp_path, capsys):
    transfer = load_benchmark("transfer")
    argv = ["--seeds", "0", "--strong-epochs", "1", "--strong-examples", "300", "--weak-examples", "100",
            "--targets", "different", "--sizes", "10", "--min-steps", "10", "--max-steps", "20",
            "--work-dir", str(tmp_path / "runs"), "--out", str(tmp_path / "results")]
    assert transfer.main(argv) == 0
    results = json.loads((tmp_path / "results" / "transfer.json").read_text())
    assert set(results["backbones"]) == {"strong", "weak"}
    runs = results["settings"]["digits 28x28 (different) @ 10"]
    assert [r["seed"] for r in runs] == [0]
    for r in runs:
        # 10 per class = 100 images = 2 steps per pass: 20 passes = 40 steps, clipped to 20; every arm the same.
        assert r["steps"] == 20 and r["steps_per_phase"] == {"head": 10, "fine_tune": 10}
        assert len(r["scratch curve"]) == transfer.POINTS
        for name in ("strong", "weak"):
            arms = r["backbones"][name]
            assert all(0.0 <= arms[a] <= 1.0 for a in transfer.TRANSFER_ARMS)
            assert len(arms["curves"]["fine-tune all"]) == transfer.POINTS
    md = (tmp_path / "results" / "transfer.md").read_text()
    assert "## From the weak source" in md and "## Do better pretrained models transfer better?" in md
    assert "| digits 28x28 (different) | 10 | 100 | 1 | 20 (10 + 10) |" in md
    assert (tmp_path / "results" / "transfer_curves.png").stat().st_size > 0
    capsys.readouterr()
    assert transfer.main(argv) == 0  # the same command: the run comes from the JSON, sources reused
    printed = capsys.readouterr().out
    assert printed.count("(from transfer.json)") == 1 and "pretraining" not in printed
    with pytest.raises(SystemExit, match="other sources or steps"):
        transfer.main([*argv, "--max-steps", "30"])
