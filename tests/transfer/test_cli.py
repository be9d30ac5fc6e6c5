"""`deeprob transfer advise | probes` in-process."""

import pytest

from deeprob_keras.cli import main


def test_advise_prints_the_cell(capsys):
    assert main(["transfer", "advise", "--examples-per-class", "1000", "--similarity", "different"]) == 0
    out = capsys.readouterr().out
    assert "fine_tune_many" in out and "freeze_fraction=0.2" in out


def test_advise_from_probe_results(tmp_path, capsys):
    path = tmp_path / "probes.json"
    path.write_text('{"stage0": 0.9, "stage1": 0.6, "features": 0.5}')
    assert main(["transfer", "advise", "--examples-per-class", "10", "--probe-results", str(path)]) == 0
    out = capsys.readouterr().out
    assert "similarity measured" in out and "probe_stages" in out


@pytest.mark.long  # over a minute: `make test-long`
def test_probes_writes_json(pretrained_path, tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"""
name: r
data: {{dataset: digits, image_size: 28, examples_per_class: 5}}
model: {{name: backbone}}
transfer: {{backbone: {pretrained_path}}}
""")
    out_json = tmp_path / "probes.json"
    assert main(["transfer", "probes", str(recipe), "--layers", "stage0,features", "--epochs", "2",
                 "--out", str(out_json)]) == 0
    import json

    assert set(json.loads(out_json.read_text())) == {"stage0", "features"}
    assert "best stage:" in capsys.readouterr().out
