"""Smoke test of benchmarks/retrieval.py on sklearn digits with a tiny untrained model (no timing asserts)."""

import json

from tests.benchmarks.loading import load_benchmark
from tests.retrieval.helpers import tiny_model


def test_tiny_run_writes_table_json_and_figures(tmp_path):
    bench = load_benchmark("retrieval")
    model = tmp_path / "model.keras"
    tiny_model().save(model)
    out = tmp_path / "retrieval.md"
    assert bench.main(["--model", str(model), "--dataset", "digits", "--queries", "30", "--rows", "3",
                       "--repeats", "1", "--out", str(out)]) == 0
    data = json.loads((tmp_path / "retrieval.json").read_text())
    names = [r["name"] for r in data["representations"]]
    assert names == ["pixels (L2)", "pixels (cosine)", "stage0", "stage1", "features"]
    for r in data["representations"]:
        assert set(r["precision"]) == {"1", "5", "10"} and all(0 <= v <= 1 for v in r["precision"].values())
    assert data["queries"] == 30 and data["speed"][0]["recall_at_k"] == 1.0 and data["speed"][0]["qps"] > 0
    if len(data["speed"]) > 1:  # faiss installed
        assert data["speed"][1]["recall_at_k"] >= 0.9  # faiss's exact index agrees with ours (up to ties)
    text = out.read_text()
    assert "| pixels (L2) |" in text and "| features |" in text and "queries/s" in text
    assert (tmp_path / "retrieval_pixels.png").exists() and (tmp_path / "retrieval_features.png").exists()
