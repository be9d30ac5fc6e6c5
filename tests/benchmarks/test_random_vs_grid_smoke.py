"""benchmarks/random_vs_grid.py: the grid tries sqrt(trials) important values, random search all of them."""

from tests.benchmarks.loading import load_benchmark


def test_random_vs_grid_writes_table_and_figure(tmp_path):
    module = load_benchmark("random_vs_grid")
    out, figure = tmp_path / "random_vs_grid.md", tmp_path / "random_vs_grid.png"
    table = module.main(["--repeats", "20", "--out", str(out), "--figure", str(figure)])
    assert table["grid"]["distinct"] == 3 and table["random"]["distinct"] == 9
    assert table["random"]["best"] > table["grid"]["best"] and table["random"]["gap"] < table["grid"]["gap"]
    assert "| grid | 3.0 |" in out.read_text() and figure.stat().st_size > 10_000
