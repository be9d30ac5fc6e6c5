"""Smoke test of benchmarks/architecture_scan.py: a tiny digits recipe, two variants, 2 steps; no timing asserts."""

import json

import pytest

from tests.benchmarks.loading import load_benchmark


@pytest.mark.slow
def test_variants_are_built_as_asked_and_reported_against_the_base(tmp_path):
    scan = load_benchmark("architecture_scan")
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text("name: tiny\ndata: {dataset: digits}\nmodel: {widths: [4, 8, 16]}\n"
                      "training: {batch_size: 32}\n")
    out = tmp_path / "scan.md"
    scan.main(["--recipe", str(recipe), "--variants", "4 stages 16-48-96-192", "--steps", "2", "--rounds", "1",
               "--limit-examples", "128", "--out", str(out)])
    data = json.loads((tmp_path / "scan.json").read_text())
    assert list(data["variants"]) == ["base", "4 stages 16-48-96-192"]   # the base first, even when not asked
    base, deeper = data["variants"]["base"], data["variants"]["4 stages 16-48-96-192"]
    assert deeper["parameters"] > base["parameters"]
    assert all(len(v["rounds"]) == 1 and v["seconds_per_step"] > 0 for v in data["variants"].values())
    table = out.read_text()
    assert "| base |" in table and "| 1.00x |" in table
    ratio = deeper["seconds_per_step"] / base["seconds_per_step"]
    assert f"| {ratio:.2f}x |" in table


def test_bad_counts_are_refused(tmp_path):
    scan = load_benchmark("architecture_scan")
    with pytest.raises(SystemExit) as e:
        scan.main(["--steps", "0", "--out", str(tmp_path / "x.md")])
    assert e.value.code == 2
    assert not (tmp_path / "x.md").exists()
