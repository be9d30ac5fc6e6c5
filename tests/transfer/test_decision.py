"""The lecture's table, cell by cell, and similarity measured from probes."""

import json

import pytest

from deeprob_keras.transfer import advise, similarity_from_probes
from deeprob_keras.transfer.decision import LITTLE_DATA_THRESHOLD


@pytest.mark.parametrize("examples, similarity, choice, words", [
    (10, "similar", "linear_top", "linear classifier on the top layer"),
    (1000, "similar", "fine_tune_few", "fine-tune a few layers"),
    (10, "different", "probe_stages", "you're in trouble"),
    (1000, "different", "fine_tune_many", "fine-tune a larger number of layers"),
])
def test_each_cell_of_the_table(examples, similarity, choice, words):
    advice = advise(examples, similarity)
    assert advice.choice == choice and words in advice.explanation


def test_threshold_between_little_and_a_lot():
    assert advise(LITTLE_DATA_THRESHOLD - 1, "similar").choice == "linear_top"
    assert advise(LITTLE_DATA_THRESHOLD, "similar").choice == "fine_tune_few"
    # fine-tuning "a larger number" of layers freezes less than "a few"
    assert advise(500, "different").transfer["freeze_fraction"] < advise(500, "similar").transfer["freeze_fraction"]


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"examples_per_class to be an integer >= 1\. Received: examples_per_class=0"):
        advise(0, "similar")
    with pytest.raises(ValueError, match=r"similarity to be one of \['similar', 'different'\]\. Received: similarity='same'"):
        advise(10, "same")


def test_similarity_from_probes(tmp_path):
    assert similarity_from_probes({"stage0": 0.70, "stage1": 0.80, "features": 0.79}) == "similar"
    assert similarity_from_probes({"stage0": 0.70, "stage1": 0.85, "features": 0.75}) == "different"
    path = tmp_path / "probes.json"
    path.write_text(json.dumps({"stage0": 0.9, "features": 0.5}))
    assert similarity_from_probes(str(path)) == "different"
    with pytest.raises(ValueError, match="at least one"):
        similarity_from_probes({})
